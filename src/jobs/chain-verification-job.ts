import { loadPublicKey, createCheckpointSigner } from '../audit/checkpoints/checkpoint.js';
import { verifyPostgresChain } from '../audit/postgres/postgres-verifications.js';
import { verifyFileChain, type ChainVerification } from '../audit/verification/chain-verification.js';
import type { JobContext, JobFactory, LeaderJob } from './periodic-jobs.js';

/**
 * The leader verifies the whole audit chain every AUDIT_VERIFY_INTERVAL_MINUTES (once soon after
 * it starts, then on the interval) and keeps the result in the store's verification log, which
 * `GET /api/v1/audit/verification` and the audit page read. A broken chain is logged as an error
 * each run until someone looks.
 */

/** Runs one verification now (tests and the first run call it); resolves with it, or null when not the leader. */
export interface ChainVerificationJob extends LeaderJob {
  verifyNow(): Promise<ChainVerification | null>;
}

const FIRST_RUN_DELAY_MS = 5_000;

export function createChainVerificationJob(context: JobContext, now: () => Date = () => new Date()): ChainVerificationJob {
  const { config, audit, isLeader } = context;
  const logger = context.logger.child({ component: 'audit' }, { level: 'info' });
  const publicKey = config.audit.signingKey ? loadPublicKey(createCheckpointSigner(config.audit.signingKey.pem).publicKeyPem) : null;
  const intervalMs = config.auditApi.verifyIntervalMinutes * 60_000;
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<ChainVerification | null> = Promise.resolve(null);

  const verify = async (): Promise<ChainVerification | null> => {
    if (!isLeader()) return null;
    const verification =
      audit.kind === 'postgres'
        ? await verifyPostgresChain(config.database!.url, config.audit.hmacKey, publicKey, now)
        : await verifyFileChain(config.audit.file, await audit.head(), config.audit.hmacKey, publicKey, now);
    await audit.verifications.record(verification);
    if (verification.intact && verification.checkpoint?.agrees !== false) logger.info({ audit: { records: verification.records, head: verification.head } }, 'audit chain verified: intact');
    else logger.error({ audit: { firstBroken: verification.firstBroken, checkpoint: verification.checkpoint } }, 'audit chain verification: the trail is NOT intact; run npm run audit:verify and investigate');
    return verification;
  };
  // One run at a time: a long chain on a slow disk must not pile runs up.
  const verifyNow = () => (running = running.then(verify, verify));
  const tick = () => void verifyNow().catch((error: unknown) => logger.warn({ err: error }, 'audit chain not verified this time; trying again at the next interval'));

  return {
    verifyNow,
    start() {
      if (intervalMs === 0 || timers.length > 0) return;
      timers.push(setTimeout(tick, FIRST_RUN_DELAY_MS), setInterval(tick, intervalMs));
      for (const timer of timers) timer.unref();
    },
    async stop() {
      for (const timer of timers.splice(0)) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}

/** The job for the leader's list (start.ts); null when AUDIT_VERIFY_INTERVAL_MINUTES=0. */
export const chainVerification: JobFactory = (context) => (context.config.auditApi.verifyIntervalMinutes === 0 ? null : createChainVerificationJob(context));
