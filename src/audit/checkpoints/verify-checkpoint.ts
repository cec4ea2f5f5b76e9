import type { KeyObject } from 'node:crypto';
import type { ChainHead } from '../chain.js';
import { checkSignature, type Checkpoint } from './checkpoint.js';

/**
 * What a checkpoint adds to verifying a chain: the trail, already found intact up to `head`, must
 * reach the checkpoint's seq with the checkpoint's hash. A trail that ends before it lost its
 * tail; a different hash there means the records up to it were rewritten and re-chained.
 */

export interface CheckpointCheck {
  checkpoint: Checkpoint;
  publicKey: KeyObject;
  /** The head of the intact trail. */
  head: ChainHead;
  /** The hash of the trail's record at `seq` (only asked for a seq the trail holds). */
  hashAt(seq: number): Promise<string>;
}

/** Null when the trail agrees with the checkpoint; otherwise the reason it does not. */
export async function checkAgainstCheckpoint({ checkpoint, publicKey, head, hashAt }: CheckpointCheck): Promise<string | null> {
  const badSignature = checkSignature(checkpoint, publicKey);
  if (badSignature) return badSignature;
  if (head.seq < checkpoint.seq) {
    return `the trail ends at seq ${head.seq}, but the checkpoint of ${checkpoint.time} covers seq ${checkpoint.seq}: records ${head.seq + 1}..${checkpoint.seq} missing`;
  }
  const hash = checkpoint.seq === head.seq ? head.hash : await hashAt(checkpoint.seq);
  if (hash !== checkpoint.hash) return `the record at seq ${checkpoint.seq} has hash ${hash}, but the checkpoint of ${checkpoint.time} signed ${checkpoint.hash}: the trail was rewritten up to there`;
  return null;
}
