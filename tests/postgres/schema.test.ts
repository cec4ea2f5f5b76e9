import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { checkOutDurable, createAuditPool, describeDatabaseError } from '../../src/audit/postgres/connection.js';
import { createPostgresAuditTrail } from '../../src/audit/postgres/postgres-audit-trail.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/audit/postgres/migrations.js';
import { ConfigError } from '../../src/config/config.js';
import { disclosureEntry, memoryLogger } from '../audit/audit-kit.js';
import { CLIENT_ID, TENANT_ID } from '../helpers/entra.js';
import { freePort } from '../helpers/net.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from './pg-kit.js';

/**
 * The audit schema at start-up and in `npm run db:migrate`: who migrates (the owner, under an
 * advisory lock), who only checks (anyone else; exit 78 naming both versions), what the runtime
 * role may do (append and read, never change), and the warnings about a role that could.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY = join(ROOT, 'dist', 'src', 'server', 'main.js');
const MIGRATE = join(ROOT, 'dist', 'src', 'audit', 'postgres', 'migrate-cli.js');

let database: TestDatabase;
afterEach(async () => {
  await database?.drop();
});

function entryEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', AZURE_TENANT_ID: TENANT_ID, AZURE_CLIENT_ID: CLIENT_ID, AZURE_CLIENT_SECRET: 'entry-test-secret', HOST: '127.0.0.1', AUDIT_STORE: 'postgres', ...extra };
}

function migrateCli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [MIGRATE, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function sqlError(url: string, sql: string): Promise<string> {
  return query(url, sql).then(
    () => 'no error',
    (error: Error) => error.message,
  );
}

/** A schema owner (not a superuser) and a runtime role with the runtime grants, on a migrated database. */
async function ownerAndRuntime(): Promise<{ owner: string; runtime: string }> {
  database = await createTestDatabase();
  const owner = await database.createRole('owner');
  const runtime = await database.createRole('runtime');
  const result = migrateCli(['--grant', runtime], { DATABASE_MIGRATION_URL: database.urlAs(owner) });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  return { owner, runtime };
}

describe('npm run db:migrate', () => {
  it('migrates an empty database as the owner, grants the runtime role, and changes nothing when run again', async () => {
    database = await createTestDatabase();
    const owner = await database.createRole('owner');
    const runtime = await database.createRole('runtime');
    const env = { DATABASE_URL: database.urlAs(runtime), DATABASE_MIGRATION_URL: database.urlAs(owner) };

    const first = migrateCli(['--grant', runtime], env);
    const again = migrateCli(['--grant', runtime], env);

    expect(first.status).toBe(0);
    for (const { version } of MIGRATIONS) expect(first.stdout).toContain(`audit schema migrated to version ${version}`);
    expect(first.stdout).toContain(`migrated from version 0 to ${SCHEMA_VERSION}`);
    expect(first.stdout).toContain(`role ${runtime} may now append to and read the audit trail`);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`is at version ${SCHEMA_VERSION} (this KeyDesk's): nothing to migrate`);
    expect(await query(database.url, 'SELECT version FROM keydesk.schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
    const owners = await query<{ tableowner: string }>(database.url, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'keydesk'");
    expect(owners).toEqual([{ tableowner: owner }]);
  });

  it('exits 2 when it cannot run (usage, no URL, no connection) and 1 when the database refuses (an unknown role)', async () => {
    database = await createTestDatabase();
    const unreachable = `postgres://owner:hunter2-secret@127.0.0.1:${await freePort()}/nowhere`;

    expect(migrateCli(['--grant'], { DATABASE_URL: database.url }).status).toBe(2);
    const noUrl = migrateCli([], {});
    expect({ status: noUrl.status, stderr: noUrl.stderr }).toEqual({ status: 2, stderr: expect.stringContaining('DATABASE_MIGRATION_URL (or DATABASE_URL) is missing') });
    const down = migrateCli([], { DATABASE_MIGRATION_URL: unreachable });
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/cannot connect to postgres:\/\/owner:\*\*\*@127\.0\.0\.1:\d+\/nowhere: ECONNREFUSED/);
    expect(down.stderr + down.stdout).not.toContain('hunter2-secret');
    const unknownRole = migrateCli(['--grant', 'no_such_role'], { DATABASE_URL: database.url });
    expect(unknownRole.status).toBe(1);
    expect(unknownRole.stderr).toContain('could not grant the runtime privileges to no_such_role');
    const noCreate = await database.createRole('nocreate');
    await superuser(SHARED_PG, (client) => client.query(`REVOKE CREATE ON DATABASE ${database.name} FROM ${noCreate}`));
    const refused = migrateCli([], { DATABASE_MIGRATION_URL: database.urlAs(noCreate) });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`GRANT CREATE ON DATABASE <database> TO <role>`);
  });
});

describe('what the roles may do to the trail', () => {
  it('lets the runtime role append, read and move the head (no other role may call the append function), but never UPDATE, DELETE or TRUNCATE the trail', async () => {
    const { runtime } = await ownerAndRuntime();
    const url = database.urlAs(runtime);
    const logged = memoryLogger();
    await prepareAuditSchema(url, logged.logger);
    const pool = createAuditPool({ url, poolMax: 2 }, logged.logger);
    const store = createPostgresAuditTrail({ pool, url, hmacKey: null, logger: logged.logger });
    await store.append(disclosureEntry());
    await store.close();

    expect(await sqlError(url, "UPDATE keydesk.audit_records SET ticket = 'X'")).toBe('permission denied for table audit_records');
    expect(await sqlError(url, 'DELETE FROM keydesk.audit_records')).toBe('permission denied for table audit_records');
    expect(await sqlError(url, 'TRUNCATE keydesk.audit_records')).toBe('permission denied for table audit_records');
    expect(await sqlError(url, 'DELETE FROM keydesk.audit_checkpoints')).toBe('permission denied for table audit_checkpoints');
    expect(await sqlError(url, 'DROP TABLE keydesk.audit_records')).toBe('must be owner of table audit_records');
    expect(await query(url, 'SELECT seq FROM keydesk.audit_records')).toEqual([{ seq: '1' }]);
    // Appending through the function is the runtime role's alone: PUBLIC may not call it.
    const stranger = await database.createRole('stranger');
    await superuser(SHARED_PG, (client) => client.query(`GRANT USAGE ON SCHEMA keydesk TO ${stranger}`), database.name);
    expect(await sqlError(database.urlAs(stranger), `SELECT keydesk.append_records(${Array(24).fill('NULL').join(', ')})`)).toBe('permission denied for function append_records');
    // A runtime role with only its grants draws no warning.
    expect(logged.lines.filter((line) => line.level === 40)).toEqual([]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of a record to the owner too (the triggers), and warns when KeyDesk runs as the owner', async () => {
    const { owner } = await ownerAndRuntime();
    const url = database.urlAs(owner);
    const logged = memoryLogger();
    await prepareAuditSchema(url, logged.logger);
    const store = createPostgresAuditTrail({ pool: createAuditPool({ url, poolMax: 1 }, logged.logger), url, hmacKey: null, logger: logged.logger });
    await store.append(disclosureEntry());
    await store.close();
    await superuser(SHARED_PG, (client) => client.query(`INSERT INTO keydesk.audit_checkpoints VALUES (1, 'h', now(), '{}')`), database.name);

    for (const sql of ["UPDATE keydesk.audit_records SET ticket = 'X'", 'DELETE FROM keydesk.audit_records', 'TRUNCATE keydesk.audit_records', 'DELETE FROM keydesk.audit_checkpoints']) {
      expect(await sqlError(url, sql)).toMatch(/^keydesk: (UPDATE|DELETE|TRUNCATE) on keydesk\.audit_(records|checkpoints) is refused: the audit trail is append-only$/);
    }
    expect(await query(database.url, 'SELECT (SELECT count(*)::int FROM keydesk.audit_records) AS records, (SELECT count(*)::int FROM keydesk.audit_checkpoints) AS checkpoints')).toEqual([{ records: 1, checkpoints: 1 }]);
    expect(logged.lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      expect.stringMatching(new RegExp(`^KeyDesk's database role ${owner} owns the audit trail \\(keydesk.audit_records\\): it can drop the triggers`)),
    ]);
  });

  it('warns when KeyDesk runs as a superuser', async () => {
    database = await createTestDatabase();
    const logged = memoryLogger();
    await prepareAuditSchema(database.url, logged.logger);
    expect(logged.lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([expect.stringMatching(/^KeyDesk's database role postgres is a superuser: it can disable the triggers/)]);
  });
});

describe('start-up with a role that does not own the schema', () => {
  const startEntry = async (url: string) => spawnSync(process.execPath, [ENTRY], { env: entryEnv({ DATABASE_URL: url, PORT: String(await freePort()) }), encoding: 'utf8', timeout: 15_000 });

  it('exits 78 saying to run npm run db:migrate when the schema is absent', async () => {
    database = await createTestDatabase();
    const runtime = await database.createRole('runtime');
    await superuser(SHARED_PG, (client) => client.query(`REVOKE CREATE ON DATABASE ${database.name} FROM ${runtime}`));

    const result = await startEntry(database.urlAs(runtime));

    expect(result.status).toBe(78);
    expect(result.stderr).toContain(`The audit schema (keydesk) does not exist in database ${database.name}, and role ${runtime} may not create it: run \`npm run db:migrate\``);
    expect(result.stderr).toContain(`\`npm run db:migrate -- --grant ${runtime}\``);
  });

  it('exits 78 naming both versions when the schema is ahead of this KeyDesk', async () => {
    const { runtime } = await ownerAndRuntime();
    await superuser(SHARED_PG, (client) => client.query("INSERT INTO keydesk.schema_migrations (version, description) VALUES ($1, 'from a newer KeyDesk')", [SCHEMA_VERSION + 1]), database.name);

    const result = await startEntry(database.urlAs(runtime));

    expect(result.status).toBe(78);
    expect(result.stderr).toContain(`The audit schema in database ${database.name} is at version ${SCHEMA_VERSION + 1}, newer than this KeyDesk understands (version ${SCHEMA_VERSION})`);
  });

  it('exits 78 naming both versions when the schema is behind this KeyDesk', async () => {
    const { runtime } = await ownerAndRuntime();
    await superuser(SHARED_PG, (client) => client.query('DELETE FROM keydesk.schema_migrations WHERE version = $1', [SCHEMA_VERSION]), database.name);
    const behind = `The audit schema in database ${database.name} is at version ${SCHEMA_VERSION - 1}, but this KeyDesk needs version ${SCHEMA_VERSION}: run \`npm run db:migrate\` with DATABASE_MIGRATION_URL set to the schema owner's connection, then start KeyDesk again.`;

    const error = await prepareAuditSchema(database.urlAs(runtime), memoryLogger().logger).catch((rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([behind]);

    const result = await startEntry(database.urlAs(runtime));
    expect(result.status).toBe(78);
    expect(result.stderr).toContain(behind);
  });
});

describe('start-up on an empty database', () => {
  it('brings up two instances starting at once as the owner: one migrates, the other waits for it, both serve', async () => {
    database = await createTestDatabase();
    const owner = await database.createRole('owner');
    const ports = [await freePort(), await freePort()];
    const children = ports.map((port) => {
      const child = spawn(process.execPath, [ENTRY], { env: entryEnv({ DATABASE_URL: database.urlAs(owner), PORT: String(port) }) });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, exited, output: () => output };
    });
    try {
      for (const port of ports) {
        await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status, { timeout: 15_000, interval: 100 }).toBe(503);
        expect(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).toMatchObject({ checks: { audit: 'writable' } });
      }
    } finally {
      for (const { child } of children) child.kill('SIGTERM');
    }
    expect(await Promise.all(children.map(({ exited }) => exited))).toEqual([0, 0]);
    expect(await query(database.url, 'SELECT version FROM keydesk.schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
    const migrated = children.filter(({ output }) => output().includes(`audit schema migrated to version ${SCHEMA_VERSION}`));
    expect(migrated).toHaveLength(1);
    for (const { output } of children) expect(output()).toContain('"msg":"audit chain opened"');
  });

  it('migrates once when several openers race, each on its own connection', async () => {
    database = await createTestDatabase();
    const owner = await database.createRole('owner');
    const logs = Array.from({ length: 4 }, () => memoryLogger());
    await Promise.all(logs.map((log) => prepareAuditSchema(database.urlAs(owner), log.logger)));
    const migrated = (log: (typeof logs)[number]) => log.lines.filter((line) => line.msg.startsWith('audit schema migrated'));
    // One opener applied every migration, one line each; the others found them done.
    expect(logs.filter((log) => migrated(log).length > 0).map((log) => migrated(log).length)).toEqual([MIGRATIONS.length]);
  });
});

describe('connections', () => {
  it('raises synchronous_commit to on for a role configured with off, and never lowers remote_apply', async () => {
    database = await createTestDatabase();
    const lax = await database.createRole('lax');
    const strict = await database.createRole('strict');
    await superuser(SHARED_PG, async (client) => {
      await client.query(`ALTER ROLE ${lax} SET synchronous_commit = off`);
      await client.query(`ALTER ROLE ${strict} SET synchronous_commit = remote_apply`);
    });
    const settingFor = async (role: string) => {
      const pool = createAuditPool({ url: database.urlAs(role), poolMax: 1 }, memoryLogger().logger);
      const client = await checkOutDurable(pool);
      const { rows } = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      client.release();
      await pool.end();
      return rows[0]!.synchronous_commit;
    };
    expect(await query(database.urlAs(lax), 'SHOW synchronous_commit')).toEqual([{ synchronous_commit: 'off' }]);
    expect(await settingFor(lax)).toBe('on');
    expect(await settingFor(strict)).toBe('remote_apply');
  });

  it('never puts the password in an error or a start-up failure', async () => {
    const port = await freePort();
    const url = `postgres://keydesk:p%40ss-w0rd-secret@127.0.0.1:${port}/keydesk`;
    expect(describeDatabaseError(new Error(`could not use ${url} (password p@ss-w0rd-secret)`), url)).toBe(`could not use postgres://keydesk:***@127.0.0.1:${port}/keydesk (password ***)`);

    const result = spawnSync(process.execPath, [ENTRY], { env: entryEnv({ DATABASE_URL: url, PORT: String(await freePort()) }), encoding: 'utf8', timeout: 15_000 });

    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`cannot connect to the audit database postgres://keydesk:***@127.0.0.1:${port}/keydesk: ECONNREFUSED`);
    expect(result.stdout + result.stderr).not.toMatch(/p%40ss-w0rd-secret|p@ss-w0rd-secret/);
  });
});
