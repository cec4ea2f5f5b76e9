import type pg from 'pg';
import { ConfigError, type Env } from '../../config/config.js';
import { loadMigrateConfig } from '../../config/migrate-config.js';
import { connectOnce, databaseLabel, describeDatabaseError } from './connection.js';
import { SCHEMA_VERSION, runtimeGrants } from './migrations.js';
import { migrate } from './schema.js';

/**
 * `npm run db:migrate [-- --grant <role>]`, as the schema owner (DATABASE_MIGRATION_URL, else
 * DATABASE_URL): applies the migrations this KeyDesk has and the database lacks, under the same
 * advisory lock start-up takes, then with `--grant` gives the runtime role what it needs and no
 * more (runtimeGrants). Running it again changes nothing. Exit 0 done, 1 the database refused
 * (a migration or GRANT failed, or the schema is newer than this KeyDesk), 2 it could not run
 * (usage, configuration, no connection).
 */

export interface MigrateIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = [
  'usage: npm run db:migrate [-- --grant <runtime-role>]',
  "Runs as the schema owner: DATABASE_MIGRATION_URL, or DATABASE_URL when that is unset. --grant gives the role KeyDesk runs as (DATABASE_URL's user) the runtime grants the README lists: INSERT and SELECT on the trail and its checkpoints, never UPDATE or DELETE on them; UPDATE only on the chain head and on the working tables beside the trail (outbox, alert windows, reconciliation, key index, coverage, rotations).",
].join('\n');

function parseArgs(argv: readonly string[]): { grant: string | null } | null {
  if (argv.length === 0) return { grant: null };
  if (argv.length === 2 && argv[0] === '--grant' && argv[1] !== undefined && argv[1] !== '' && !argv[1].startsWith('-')) return { grant: argv[1] };
  return null;
}

export async function runMigrateCli(argv: readonly string[], env: Env | undefined, io: MigrateIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  const args = parseArgs(argv);
  if (args === null) {
    io.err(USAGE);
    return 2;
  }
  let url: string;
  try {
    ({ url } = loadMigrateConfig(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`db:migrate cannot run: ${error.problems.join('; ')}`);
    return 2;
  }
  let client: pg.Client;
  try {
    client = await connectOnce(url);
  } catch (error) {
    io.err(`db:migrate cannot connect to ${databaseLabel(url)}: ${describeDatabaseError(error, url)}`);
    return 2;
  }
  try {
    return await migrateAndGrant(client, url, args.grant, io);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function migrateAndGrant(client: pg.Client, url: string, grant: string | null, io: MigrateIo): Promise<number> {
  const where = databaseLabel(url);
  try {
    const { from, to } = await migrate(client, { info: (_fields, message) => io.out(message) });
    io.out(from === to ? `audit schema in ${where} is at version ${to} (this KeyDesk's): nothing to migrate` : `audit schema in ${where} migrated from version ${from} to ${to}`);
  } catch (error) {
    io.err(error instanceof ConfigError ? `db:migrate: ${error.problems.join('; ')}` : `db:migrate failed on ${where}: ${describeDatabaseError(error, url)}${privilegeHint(error)}`);
    return 1;
  }
  if (grant === null) return 0;
  try {
    await client.query(runtimeGrants(grant));
  } catch (error) {
    io.err(`db:migrate could not grant the runtime privileges to ${grant} on ${where}: ${describeDatabaseError(error, url)}`);
    return 1;
  }
  io.out(`role ${grant} may now append to and read the audit trail (schema version ${SCHEMA_VERSION}) and move its chain head; it cannot change or remove a record`);
  return 0;
}

/** What to do about the refusal a migration role meets most: no CREATE on the database. */
function privilegeHint(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== '42501' || typeof message !== 'string' || !message.includes('permission denied for database')) return '';
  return ' (the migration role creates the keydesk schema: make it the database\'s owner, or run GRANT CREATE ON DATABASE <database> TO <role> as a superuser; see "Two roles" in the README)';
}
