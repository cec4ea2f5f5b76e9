import type pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError } from '../../config/config.js';
import { AUDIT_SCHEMA, BOOKKEEPING_SQL, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { connectOnce, databaseLabel, describeDatabaseError } from './connection.js';

/**
 * The audit schema at start-up and in `npm run db:migrate`. A role that owns the schema (or may
 * create it, when it is absent) migrates it, under a session advisory lock so that instances
 * starting together on an empty database take turns instead of colliding; any other role only
 * checks the version, under the same lock shared, and KeyDesk refuses to start (exit 78) when the
 * schema is absent, behind or ahead of this KeyDesk.
 */

/** Taken exclusively while migrating, shared while checking the version. */
export const MIGRATION_LOCK_SQL_KEY = `hashtext('keydesk.schema_migrations')`;

export type SchemaLogger = Pick<Logger, 'info' | 'warn'>;

/** Where `migrate` says what it applied: the service log, or the terminal of `npm run db:migrate`. */
export interface MigrationLog {
  info(fields: Record<string, unknown>, message: string): void;
}

interface RoleFacts {
  role: string;
  database: string;
  superuser: boolean;
  /** Null when the schema does not exist. */
  ownsSchema: boolean | null;
  mayCreateSchema: boolean;
  ownsTrail: boolean;
}

async function roleFacts(client: pg.ClientBase): Promise<RoleFacts> {
  const { rows } = await client.query<{ role: string; database: string; superuser: boolean; owns_schema: boolean | null; may_create: boolean; owns_trail: boolean }>(
    `SELECT current_user AS role, current_database() AS database,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       (SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = $1) AS owns_schema,
       has_database_privilege(current_database(), 'CREATE') AS may_create,
       COALESCE((SELECT pg_has_role(current_user, tableowner::regrole, 'USAGE') FROM pg_tables WHERE schemaname = $1 AND tablename = 'audit_records'), false) AS owns_trail`,
    [AUDIT_SCHEMA],
  );
  const row = rows[0]!;
  return { role: row.role, database: row.database, superuser: row.superuser, ownsSchema: row.owns_schema, mayCreateSchema: row.may_create, ownsTrail: row.owns_trail };
}

/** The version recorded in keydesk.schema_migrations; 0 when the bookkeeping exists but no migration ran; null when the schema is absent. */
async function appliedVersion(client: pg.ClientBase): Promise<number | null> {
  const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass('keydesk.schema_migrations') IS NOT NULL AS present`);
  if (!rows[0]!.present) return null;
  const applied = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM keydesk.schema_migrations');
  return applied.rows[0]!.version ?? 0;
}

function aheadProblem(facts: RoleFacts, applied: number): string {
  return (
    `The audit schema in database ${facts.database} is at version ${applied}, newer than this KeyDesk understands (version ${SCHEMA_VERSION}): ` +
    'a newer KeyDesk migrated it. Run that KeyDesk version (or newer) instead; never run an older one against a newer schema.'
  );
}

/** Applies every migration this KeyDesk has and the database lacks, each in one transaction with its row. */
export async function migrate(client: pg.ClientBase, logger: MigrationLog): Promise<{ from: number; to: number }> {
  await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_SQL_KEY})`);
  try {
    await client.query(BOOKKEEPING_SQL);
    const from = (await appliedVersion(client)) ?? 0;
    const facts = from > SCHEMA_VERSION ? await roleFacts(client) : null;
    if (facts !== null) throw new ConfigError([aheadProblem(facts, from)]);
    for (const migration of MIGRATIONS.filter((m) => m.version > from)) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO keydesk.schema_migrations (version, description) VALUES ($1, $2)', [migration.version, migration.description]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      logger.info({ schema: { version: migration.version } }, `audit schema migrated to version ${migration.version}: ${migration.description}`);
    }
    return { from, to: Math.max(from, SCHEMA_VERSION) };
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_SQL_KEY})`).catch(() => undefined);
  }
}

/** Throws ConfigError when the schema is absent, behind or ahead; waits for a migration in progress. */
async function checkVersion(client: pg.ClientBase, facts: RoleFacts): Promise<void> {
  await client.query(`SELECT pg_advisory_lock_shared(${MIGRATION_LOCK_SQL_KEY})`);
  let applied: number | null;
  try {
    applied = await appliedVersion(client);
  } finally {
    await client.query(`SELECT pg_advisory_unlock_shared(${MIGRATION_LOCK_SQL_KEY})`).catch(() => undefined);
  }
  const migrateHow = 'run `npm run db:migrate` with DATABASE_MIGRATION_URL set to the schema owner\'s connection';
  if (applied === null) {
    throw new ConfigError([
      `The audit schema (keydesk) does not exist in database ${facts.database}, and role ${facts.role} may not create it: ${migrateHow}, then \`npm run db:migrate -- --grant ${facts.role}\`.`,
    ]);
  }
  if (applied < SCHEMA_VERSION) {
    throw new ConfigError([`The audit schema in database ${facts.database} is at version ${applied}, but this KeyDesk needs version ${SCHEMA_VERSION}: ${migrateHow}, then start KeyDesk again.`]);
  }
  if (applied > SCHEMA_VERSION) throw new ConfigError([aheadProblem(facts, applied)]);
}

/** What an operator should hear at start-up about the runtime role's powers over the trail. */
function roleWarnings(facts: RoleFacts): string[] {
  const warnings: string[] = [];
  const fix = `run KeyDesk as a role with the runtime grants only (\`npm run db:migrate -- --grant <role>\`, see README) and keep the owner's connection in DATABASE_MIGRATION_URL`;
  if (facts.superuser) {
    warnings.push(`KeyDesk's database role ${facts.role} is a superuser: it can disable the triggers that keep the audit trail append-only and rewrite it; ${fix}.`);
  } else if (facts.ownsTrail) {
    warnings.push(`KeyDesk's database role ${facts.role} owns the audit trail (keydesk.audit_records): it can drop the triggers that keep the trail append-only and rewrite it; ${fix}.`);
  }
  return warnings;
}

/**
 * Start-up: migrate when this role owns the schema (or may create it), else check the version.
 * Warns when the role could rewrite the trail. Throws ConfigError (exit 78) for a schema this
 * KeyDesk cannot run on; a database that cannot be reached is an ordinary error.
 */
export async function prepareAuditSchema(url: string, logger: SchemaLogger): Promise<void> {
  let client: pg.Client;
  try {
    client = await connectOnce(url);
  } catch (error) {
    throw new Error(`cannot connect to the audit database ${databaseLabel(url)}: ${describeDatabaseError(error, url)}`);
  }
  try {
    const facts = await roleFacts(client);
    const mayMigrate = facts.ownsSchema === true || facts.superuser || (facts.ownsSchema === null && facts.mayCreateSchema);
    if (mayMigrate) await migrate(client, logger);
    else await checkVersion(client, facts);
    for (const warning of roleWarnings(mayMigrate ? await roleFacts(client) : facts)) logger.warn(warning);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new Error(`the audit schema in ${databaseLabel(url)} could not be prepared: ${describeDatabaseError(error, url)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
