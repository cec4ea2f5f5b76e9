import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/net.js';

/**
 * Redis for the tests: the machine's Redis 7 at 127.0.0.1:6379, each test under a key prefix of
 * its own (removed afterwards), and a private redis-server on a free port for the faults that
 * stop it (no persistence: a restart loses every key, as a Redis without persistence does).
 */

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

export function testKeyPrefix(): string {
  return `keydesk-test-${randomUUID().slice(0, 8)}:`;
}

/** A plain client for the test's own look at what KeyDesk stored. */
export function inspector(url = SHARED_REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

export async function removeKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A redis-server of the test's own, which the test may kill and start again on the same port. */
export class PrivateRedis {
  #process: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.#process = child;
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await waitUntil(async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        }
      }, `redis-server on port ${this.port}`);
    } finally {
      probe.disconnect();
    }
  }

  /** As a crash or an OOM kill: no goodbye to the clients. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** Waits until `redis` (KeyDesk's client) is connected again. */
export async function reconnected(redis: Redis, timeoutMs = 5_000): Promise<void> {
  await waitUntil(async () => redis.status === 'ready', 'the client to reconnect', timeoutMs);
}
