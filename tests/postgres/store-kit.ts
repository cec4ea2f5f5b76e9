import { onTestFinished } from 'vitest';
import type { Logger } from 'pino';
import pg from 'pg';
import { fileAuditStore } from '../../src/audit/open-store.js';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { createAuditPool } from '../../src/audit/postgres/connection.js';
import { createPostgresAuditTrail } from '../../src/audit/postgres/postgres-audit-trail.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import type { AuditStore } from '../../src/audit/store.js';
import { memoryLogger, readLines, tempAuditFile } from '../audit/audit-kit.js';
import { createTestDatabase, type TestDatabase } from './pg-kit.js';

/** Either audit store, opened on a fresh file or a fresh database, closed (and dropped) after the test. */

export type StoreKind = AuditStore['kind'];

export interface StoreOptions {
  clock?: () => Date;
  hmacKey?: Buffer | null;
  logger?: Logger;
}

export interface OpenedStore {
  store: AuditStore;
  /** The records' stored lines in seq order: the file's lines, or the `line` column. */
  lines(): Promise<string[]>;
  database: TestDatabase | null;
  /** The file store's trail file; null for PostgreSQL. */
  file: string | null;
}

/** The PostgreSQL store on `url`, schema migrated, as `openPostgresAuditStore` opens it but with a test's clock. */
export async function openPostgresStore(url: string, options: StoreOptions = {}): Promise<AuditStore> {
  const logger = options.logger ?? memoryLogger().logger;
  await prepareAuditSchema(url, logger);
  return createPostgresAuditTrail({ pool: createAuditPool({ url, poolMax: 10 }, logger), url, hmacKey: options.hmacKey ?? null, logger, clock: options.clock });
}

export async function openStore(kind: StoreKind, options: StoreOptions = {}): Promise<OpenedStore> {
  const logger = options.logger ?? memoryLogger().logger;
  if (kind === 'file') {
    const file = await tempAuditFile();
    const trail = await openFileAuditTrail({ file, hmacKey: options.hmacKey ?? null, logger, clock: options.clock });
    const store = fileAuditStore(trail, file);
    onTestFinished(() => store.close());
    return { store, lines: () => readLines(file), database: null, file };
  }
  const database = await createTestDatabase();
  const store = await openPostgresStore(database.url, { ...options, logger });
  onTestFinished(async () => {
    await store.close();
    await database.drop();
  });
  return { store, lines: () => storedLines(database.url), database, file: null };
}

export async function storedLines(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ line: string }>('SELECT line FROM keydesk.audit_records ORDER BY seq');
    return rows.map((row) => row.line);
  } finally {
    await client.end();
  }
}
