import type { DatabaseConfig } from '../../config/config.js';
import { hashAlgFor } from '../chain.js';
import type { AuditLogger } from '../file/start-up.js';
import type { AuditStore } from '../store.js';
import { createAuditPool } from './connection.js';
import { createPostgresAuditTrail } from './postgres-audit-trail.js';
import { prepareAuditSchema } from './schema.js';

/**
 * `AUDIT_STORE=postgres` at start-up: the schema migrated or checked (schema.ts; a ConfigError
 * for one this KeyDesk cannot run on), then the pool and the trail, whose head is logged as the
 * file store logs its own.
 */
export async function openPostgresAuditStore(database: DatabaseConfig, options: { hmacKey: Buffer | null; logger: AuditLogger }): Promise<AuditStore> {
  await prepareAuditSchema(database.url, options.logger);
  const pool = createAuditPool(database, options.logger);
  const store = createPostgresAuditTrail({ pool, url: database.url, hmacKey: options.hmacKey, logger: options.logger });
  try {
    const [head, last] = await Promise.all([store.head(), store.query({}, { limit: 1 })]);
    const record = last.records[0];
    const configured = hashAlgFor(options.hmacKey);
    if (record !== undefined && record.hashAlg !== configured) {
      options.logger.error(
        { audit: { seq: record.seq } },
        `the last audit record (seq ${record.seq}) is chained with ${record.hashAlg} but KeyDesk is configured for ${configured}; ` +
          'new records continue the chain, but audit:verify will report the change. Every KeyDesk on one database needs the same AUDIT_HMAC_KEY',
      );
    }
    options.logger.info({ audit: head }, 'audit chain opened');
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
