import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkpointLine, checkpointOrigin, createCheckpointSigner, type Checkpoint } from '../../../src/audit/checkpoints/checkpoint.js';
import type { ChainHead } from '../../../src/audit/chain.js';

/** Signing keys and checkpoint files for the tests of `audit:verify --checkpoint`. */

export interface SigningKey {
  sign(head: ChainHead): Checkpoint;
  /** The public key's SPKI PEM in a file, for --public-key. */
  publicKeyFile: string;
}

export async function signingKey(folder: string): Promise<SigningKey> {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const signer = createCheckpointSigner(pem);
  const publicKeyFile = join(folder, `signing-${randomUUID()}.pub.pem`);
  await writeFile(publicKeyFile, signer.publicKeyPem);
  return {
    sign: (head) => signer.sign(head, checkpointOrigin('contoso-tenant', 'keydesk-app'), new Date('2026-03-01T10:00:00.000Z')),
    publicKeyFile,
  };
}

/** Writes checkpoints as a checkpoint file (one line each) next to `trail`; returns its path. */
export async function checkpointFile(trail: string, checkpoints: readonly Checkpoint[]): Promise<string> {
  const path = join(dirname(trail), `checkpoints-${randomUUID()}.jsonl`);
  await writeFile(path, checkpoints.map(checkpointLine).join(''));
  return path;
}

