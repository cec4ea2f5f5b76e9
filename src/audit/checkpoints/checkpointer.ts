import type { Logger } from 'pino';
import type { ChainHead } from '../chain.js';
import type { Checkpoint, CheckpointSigner } from './checkpoint.js';
import type { CheckpointTarget } from './checkpoint-target.js';

/**
 * The periodic job that signs the chain head. It runs in one process per trail (the leader, see
 * the scale-out notes in the README): every `intervalSeconds`, and once more at shutdown, it signs
 * the head when records were added since the last checkpoint, stores the checkpoint beside the
 * trail and sends a copy to the target.
 */

/** Where a store keeps its checkpoints: a file beside the audit file, or a database table. */
export interface CheckpointLog {
  last(): Promise<Checkpoint | null>;
  /** Resolves once the checkpoint is durable. */
  append(checkpoint: Checkpoint): Promise<void>;
}

export interface CheckpointerOptions {
  /** The durable chain head: every record up to it is fsynced or committed. */
  head(): Promise<ChainHead>;
  log: CheckpointLog;
  target: CheckpointTarget | null;
  signer: CheckpointSigner;
  origin: string;
  intervalSeconds: number;
  /** False in every process but the one that runs the periodic jobs. */
  isLeader(): boolean;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => Date;
}

export interface Checkpointer {
  start(): void;
  /** Signs a checkpoint now when the head moved; resolves with it (null: nothing new, or not the leader). */
  checkpoint(): Promise<Checkpoint | null>;
  /** Stops the timer, signs a last checkpoint and waits (at most `deliveryWaitMs`) for its copy. */
  stop(deliveryWaitMs?: number): Promise<void>;
}

export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const now = options.now ?? (() => new Date());
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<Checkpoint | null> = Promise.resolve(null);
  const deliveries = new Set<Promise<void>>();

  const deliver = (checkpoint: Checkpoint) => {
    if (!options.target) return;
    const delivery = options.target.deliver(checkpoint).catch((error: unknown) => {
      options.logger.error({ err: error, audit: { seq: checkpoint.seq } }, `audit checkpoint could not be sent to ${options.target!.description}; the next one will cover its records`);
    });
    deliveries.add(delivery);
    void delivery.finally(() => deliveries.delete(delivery));
  };

  const signIfMoved = async (): Promise<Checkpoint | null> => {
    if (!options.isLeader()) return null;
    const [head, last] = await Promise.all([options.head(), options.log.last()]);
    if (last && last.seq > head.seq) {
      options.logger.error({ audit: { seq: head.seq, checkpointSeq: last.seq } }, `the audit trail ends at seq ${head.seq}, but a checkpoint was signed at seq ${last.seq}: records ${head.seq + 1}..${last.seq} are missing`);
      return null;
    }
    if (head.seq === 0 || (last && last.seq === head.seq)) return null;
    const checkpoint = options.signer.sign(head, options.origin, now());
    await options.log.append(checkpoint);
    options.logger.info({ audit: { seq: checkpoint.seq, hash: checkpoint.hash, keyId: checkpoint.keyId } }, 'audit checkpoint signed');
    deliver(checkpoint);
    return checkpoint;
  };

  // One at a time: a slow database must not let two checkpoints of one head race.
  const checkpoint = () => {
    running = running.then(signIfMoved, signIfMoved);
    return running;
  };

  const tick = () => {
    checkpoint().catch((error: unknown) => options.logger.warn({ err: error }, 'audit checkpoint not signed this time; trying again at the next interval'));
  };

  return {
    start() {
      timer ??= setInterval(tick, options.intervalSeconds * 1_000);
      timer.unref();
    },
    checkpoint,
    async stop(deliveryWaitMs = 5_000) {
      if (timer) clearInterval(timer);
      timer = null;
      await checkpoint().catch((error: unknown) => options.logger.warn({ err: error }, 'no audit checkpoint at shutdown'));
      const wait = new Promise((resolve) => setTimeout(resolve, deliveryWaitMs).unref());
      await Promise.race([Promise.all(deliveries), wait]);
    },
  };
}
