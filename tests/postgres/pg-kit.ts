import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../helpers/net.js';

/**
 * PostgreSQL for the tests: a database of each test's own on the machine's PostgreSQL
 * (127.0.0.1:5432, trust auth), dropped afterwards, and a private server on a free port for the
 * faults that stop PostgreSQL (initdb/pg_ctl run as the `postgres` user: initdb refuses root).
 */

const run = promisify(execFile);

export const SHARED_PG = { host: '127.0.0.1', port: 5432 };

export function pgUrl(server: { host: string; port: number }, database: string, user = 'postgres'): string {
  return `postgres://${encodeURIComponent(user)}@${server.host}:${server.port}/${database}`;
}

/** Runs SQL as the superuser on the given database (default: `postgres`). */
export async function superuser<T>(server: { host: string; port: number }, work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new pg.Client({ connectionString: pgUrl(server, database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  /** The superuser's URL to the database. */
  url: string;
  /** The URL for another role (created with `createRole`). */
  urlAs(role: string): string;
  /** A login role of the test's own (removed with the database); returns its name. */
  createRole(prefix: string): Promise<string>;
  drop(): Promise<void>;
}

/** A fresh, empty database (and its roles), on the shared server unless another is given. */
export async function createTestDatabase(server: { host: string; port: number } = SHARED_PG): Promise<TestDatabase> {
  const name = `keydesk_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const roles: string[] = [];
  await superuser(server, (client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: pgUrl(server, name),
    urlAs: (role) => pgUrl(server, name, role),
    async createRole(prefix) {
      const role = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
      await superuser(server, (client) => client.query(`CREATE ROLE ${role} LOGIN`));
      await superuser(server, (client) => client.query(`GRANT CONNECT, CREATE ON DATABASE ${name} TO ${role}`));
      roles.push(role);
      return role;
    },
    async drop() {
      await superuser(server, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        for (const role of roles) await client.query(`DROP ROLE IF EXISTS ${role}`);
      });
    },
  };
}

const asPostgres = (command: string, args: string[]) => run('su', ['postgres', '-s', '/bin/sh', '-c', [command, ...args.map(shellQuote)].join(' ')]);
const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/** A PostgreSQL server of the test's own, which the test may stop and start on the same port. */
export class PrivatePostgres {
  private constructor(
    readonly host: string,
    readonly port: number,
    readonly dataDir: string,
    readonly root: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const root = await mkdtemp(join(tmpdir(), 'keydesk-pg-'));
    await chmod(root, 0o777);
    const dataDir = join(root, 'data');
    await asPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    const server = new PrivatePostgres('127.0.0.1', await freePort(), dataDir, root);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.root} -c fsync=off`;
    await asPostgres('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', join(this.root, 'log'), '-w', 'start']);
  }

  /** `fast`: disconnects clients and shuts down cleanly; `immediate`: like a crash. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await asPostgres('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}
