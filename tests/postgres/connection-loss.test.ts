import { describe, expect, it } from 'vitest';
import { checkOutDurable, createAuditPool } from '../../src/audit/postgres/connection.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { query, testDatabase } from './audit-tools-kit.js';

/**
 * A pooled connection checked out for an append has no pool listener for its errors: without
 * one of its own, a backend terminated between two statements (PostgreSQL restarting, a failover,
 * pg_terminate_backend) is an uncaught exception that kills the KeyDesk process.
 */

describe('a checked-out audit connection whose backend is terminated between statements', () => {
  it('fails its next statement instead of crashing the process, and the pool serves a new one', async () => {
    const database = await testDatabase({ migrated: false });
    const pool = createAuditPool({ url: database.url, poolMax: 2 }, memoryLogger().logger);
    try {
      const client = await checkOutDurable(pool);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await query(database, 'SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      // Long enough for the FATAL message to reach the idle client.
      await new Promise((resolve) => setTimeout(resolve, 300));

      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      const next = await checkOutDurable(pool);
      expect((await next.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      next.release();
    } finally {
      await pool.end();
    }
  });
});
