import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import { checkpointAgreement, verificationOf, type ChainVerification, type VerificationLog } from '../verification/chain-verification.js';
import type { ReadRows } from './postgres-query.js';
import { connectToolDatabase } from './tool-database.js';
import { verifyDatabaseTrail } from './verify-database.js';

/**
 * The PostgreSQL store's chain verifications: `keydesk.audit_verifications` (migration 2), one
 * append-only row per run of the leader's job, so whichever instance a request reaches answers
 * with the latest. `result` is the verification as JSON.
 */

const WRITE_TIMEOUT_MS = 5_000;

export function postgresVerificationLog(db: { read: ReadRows; pool: pg.Pool }): VerificationLog {
  return {
    async latest() {
      const rows = await db.read<{ result: string }>('SELECT result FROM keydesk.audit_verifications ORDER BY id DESC LIMIT 1', []);
      return rows[0] === undefined ? null : (JSON.parse(rows[0].result) as ChainVerification);
    },
    async record(verification) {
      await db.pool.query({
        text: 'INSERT INTO keydesk.audit_verifications (verified_at, intact, result) VALUES ($1, $2, $3)',
        values: [verification.verifiedAt, verification.intact, JSON.stringify(verification)],
        query_timeout: WRITE_TIMEOUT_MS,
      } as pg.QueryConfig);
    },
  };
}

/** The whole chain in one snapshot (verify-database.ts), on a connection of its own that ends with the run. */
export async function verifyPostgresChain(url: string, hmacKey: Buffer | null, publicKey: KeyObject | null, now: () => Date): Promise<ChainVerification> {
  const client = await connectToolDatabase(url);
  try {
    const { result, headProblem, afterwards } = await verifyDatabaseTrail(client, {
      hmacKey,
      readStoredCheckpoint: true,
      afterwards: (verified, checkpoint, hashAt) => checkpointAgreement(checkpoint, verified, publicKey, hashAt),
    });
    return verificationOf(result, now(), afterwards ?? null, headProblem);
  } finally {
    await client.end().catch(() => undefined);
  }
}
