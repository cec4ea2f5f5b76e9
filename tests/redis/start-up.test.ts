import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectionWarnings } from '../../src/redis/client.js';
import { buildHarness } from '../helpers/app-harness.js';
import { freePort } from '../helpers/net.js';
import { BASE_URL, SESSION_SECRET } from './web-instances.js';
import { startServer } from '../../src/server/start.js';
import { testConfig } from '../helpers/config.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { createTestDatabase } from '../postgres/pg-kit.js';

/** What KeyDesk tells an operator at start-up about where the shared state lives. */

const WEB = { PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET };
const warningsOf = (lines: Record<string, unknown>[]) => lines.filter((line) => line.level === 'warn').map((line) => String(line.msg));

describe('Redis at start-up', () => {
  it('warns about a REDIS_URL that crosses the network without TLS or without a password, and not about a loopback one', () => {
    expect(connectionWarnings('redis://redis.contoso.com:6379')).toEqual([
      'REDIS_URL connects to redis.contoso.com:6379 without TLS: staff sessions cross the network in clear text. Use rediss:// (Redis with TLS).',
      'REDIS_URL connects to redis.contoso.com:6379 without a password: anyone who reaches it can read and end staff sessions. Set one (rediss://:password@host:port).',
    ]);
    expect(connectionWarnings('rediss://redis.contoso.com:6380')).toHaveLength(1);
    expect(connectionWarnings('redis://:pw@redis.contoso.com:6379')).toHaveLength(1);
    expect(connectionWarnings('rediss://:pw@redis.contoso.com:6380/2')).toEqual([]);
    for (const url of ['redis://127.0.0.1:6379', 'redis://localhost:6379', 'redis://[::1]:6379']) expect(connectionWarnings(url)).toEqual([]);
  });

  it('warns that staff sessions will not follow a user across instances when AUDIT_STORE=postgres runs without REDIS_URL', async () => {
    const harness = await buildHarness('redis-none-postgres', { env: { ...WEB, AUDIT_STORE: 'postgres', DATABASE_URL: 'postgres://keydesk@127.0.0.1:5432/keydesk' } });
    await harness.close();
    expect(warningsOf(harness.logLines())).toContain(
      "AUDIT_STORE=postgres without REDIS_URL: staff sessions and one-time forms are this instance's own, so they will not follow a staff member to another instance behind the load balancer. Set REDIS_URL to share them.",
    );
    const fileStore = await buildHarness('redis-none-file', { env: WEB });
    await fileStore.close();
    expect(warningsOf(fileStore.logLines()).filter((msg) => msg.includes('AUDIT_STORE=postgres'))).toEqual([]);
  });

  it('warns an API-only instance on AUDIT_STORE=postgres without REDIS_URL that rate limits count per instance', async () => {
    const database = await createTestDatabase();
    const log = memoryLogger();
    try {
      const server = await startServer(testConfig({ HOST: '127.0.0.1', PORT: String(await freePort()), AUDIT_STORE: 'postgres', DATABASE_URL: database.url }), { logger: log.logger, handleSignals: false });
      await server.stop();
    } finally {
      await database.drop();
    }
    expect(log.lines.filter((line) => line.level === 40).map((line) => line.msg)).toContain(
      "AUDIT_STORE=postgres without REDIS_URL: rate limits are counted in each instance's own memory, so behind a load balancer a caller gets each limit once per instance. Set REDIS_URL to count them once.",
    );
  });

  it('says once that Redis does not answer, and never logs its password', async () => {
    const harness = await buildHarness('redis-unreachable', { env: { ...WEB, REDIS_URL: `redis://:not-to-be-logged@127.0.0.1:${await freePort()}` } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await harness.close();
    const outages = harness.logLines().filter((line) => String(line.msg).startsWith('Redis does not answer'));
    expect(outages).toHaveLength(1);
    expect(outages[0]).toMatchObject({ level: 'error', redis: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(readFileSync(harness.logFile, 'utf8')).not.toContain('not-to-be-logged');
  });
});
