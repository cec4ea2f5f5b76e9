// The bench's PostgreSQL: a database of its own per scenario on the local server (trust auth, user
// postgres), dropped afterwards; the server processes that work for it, for the CPU figures.
import pg from 'pg';

const SERVER = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function urlOf(database) {
  const url = new URL(SERVER);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Null when the server answers, else why not (the PostgreSQL scenarios are then skipped). */
export async function postgresUnavailable() {
  const client = new pg.Client({ connectionString: SERVER, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `PostgreSQL not reachable at ${new URL(SERVER).host} (${error.message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh, empty database; `drop()` removes it (and any connection KeyDesk left open to it). */
export async function createBenchDatabase(name) {
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.query(`create database "${name}"`);
  const client = new pg.Client({ connectionString: urlOf(name) });
  await client.connect();
  return {
    url: urlOf(name),
    /** Records in the trail; null when KeyDesk made no trail here (it did not use PostgreSQL). */
    async auditRecords() {
      const { rows } = await client.query("select to_regclass('keydesk.audit_records') is not null as present");
      if (!rows[0].present) return null;
      const count = await client.query('select count(*)::int as n from keydesk.audit_records');
      return count.rows[0].n;
    },
    /**
     * The server processes doing this scenario's work: the backends connected to this database
     * (not this bench's own) and the server's background processes (WAL writer, checkpointer, …),
     * which other databases on a shared server may keep busy too.
     */
    async serverPids() {
      const { rows } = await client.query(
        "select pid from pg_stat_activity where pid <> pg_backend_pid() and (datname = current_database() or backend_type <> 'client backend')",
      );
      return rows.map((row) => row.pid);
    },
    async drop() {
      await client.end().catch(() => undefined);
      await admin.query(`drop database if exists "${name}" with (force)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}
