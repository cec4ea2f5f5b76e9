import type pg from 'pg';
import type { DatabaseConfig } from '../../config/config.js';
import { checkChainKey } from '../chain-key.js';
import type { AuditLogger } from '../file/start-up.js';
import type { AuditStore } from '../store.js';
import { createAuditPool, databaseLabel } from './connection.js';
import { createPostgresAuditTrail } from './postgres-audit-trail.js';
import { prepareAuditSchema } from './schema.js';

/**
 * `AUDIT_STORE=postgres` at start-up: the schema migrated or checked (schema.ts; a ConfigError
 * for one this KeyDesk cannot run on), then the pool and the trail, whose head record must verify
 * under AUDIT_HMAC_KEY (chain-key.ts; a ConfigError otherwise) and whose head is logged as the
 * file store logs its own.
 */
export async function openPostgresAuditStore(database: DatabaseConfig, options: { hmacKey: Buffer | null; logger: AuditLogger }): Promise<AuditStore> {
  await prepareAuditSchema(database.url, options.logger);
  const pool = createAuditPool(database, options.logger);
  const store = createPostgresAuditTrail({ pool, url: database.url, hmacKey: options.hmacKey, logger: options.logger });
  try {
    const line = await readHeadLine(pool);
    if (line !== null) {
      checkChainKey(line, options.hmacKey, {
        name: `the audit trail in database ${databaseLabel(database.url)}`,
        newTrail: 'point DATABASE_URL at a new, empty database (keeping this one for audit:verify)',
      });
    }
    options.logger.info({ audit: await store.head() }, 'audit chain opened');
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

/** The line of the record keydesk.chain_head names, exactly as audit:verify reads it; null for an empty trail. */
async function readHeadLine(pool: pg.Pool): Promise<string | null> {
  const { rows } = await pool.query<{ line: string }>('SELECT r.line FROM keydesk.chain_head h JOIN keydesk.audit_records r ON r.seq = h.seq');
  return rows[0]?.line ?? null;
}
