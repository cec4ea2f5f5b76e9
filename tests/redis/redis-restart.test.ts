import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import type { Session } from 'fastify';
import type { SessionStore } from '@fastify/session';
import { createMemorySessionStore } from '../../src/auth/session-store.js';
import { sessionStoreUnavailable } from '../../src/redis/client.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { WebClient } from '../web/web-client.js';
import { PrivateRedis, inspector, keysUnder, testKeyPrefix } from './redis-kit.js';
import { BASE_URL, SESSION_SECRET, buildInstance, openForm, revealFields, signIn } from './web-instances.js';

/**
 * A Redis (without persistence) killed and started again under a running KeyDesk: pages say the
 * session store is unavailable, never 500 and never hang; the API goes on; the rate limits hold
 * from memory; and afterwards KeyDesk goes back to Redis by itself, where staff sign in again.
 */

const SIGN_INS_PER_MINUTE = 4;
const SEARCHES_PER_MINUTE = 3;
const TO_MEMORY = "rate limits are counted in this instance's memory while Redis does not answer (the same limits, per instance)";
const TO_REDIS = 'rate limits are counted in Redis again';

describe('Redis restarted under a running KeyDesk', () => {
  let tenant: SimulatedTenant;
  let discloser: SimStaffMember;
  let server: PrivateRedis;
  let harness: Harness;
  let apiToken: string;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    discloser = tenant.staff.find((s) => s.roles.includes('BitLocker.Disclose'))!;
    apiToken = await tenant.issueAppToken(tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Lookup'))!.clientId);
    server = await PrivateRedis.start();
  });
  afterEach(async () => {
    await harness?.close();
  });
  afterAll(async () => {
    await server.kill();
    await tenant.close();
  });

  const search = () => harness.inject({ method: 'GET', url: `/api/v1/devices?name=${encodeURIComponent(tenant.directory.notable.typical.displayName)}`, headers: { authorization: `Bearer ${apiToken}` } });
  /** Sign-in starts of a browser without a session, until the limit answers. */
  const signInStarts = async (count: number) => {
    const browser = new WebClient(harness);
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push((await browser.get('/auth/sign-in?returnTo=%2F')).statusCode);
    return statuses;
  };
  const logged = (message: string) => harness.logLines().filter((line) => line.msg === message).length;

  async function untilPagesAnswer(client: WebClient): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const page = await client.get('/');
      if (page.statusCode !== 503 || Date.now() > deadline) return page.statusCode;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('answers pages 503 session_store_unavailable within 2 s while it is down, keeps the API and every limit, then has staff sign in again; never a 500', async () => {
    const keyPrefix = testKeyPrefix();
    harness = await buildInstance('redis-restart', tenant, { url: server.url, keyPrefix }, { RATE_LIMIT_SIGN_INS_PER_MINUTE: String(SIGN_INS_PER_MINUTE), RATE_LIMIT_SEARCHES_PER_MINUTE: String(SEARCHES_PER_MINUTE) });
    const client = await signIn(tenant, harness, discloser);
    expect((await client.get('/')).statusCode).toBe(200);

    await server.kill();
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const page = await client.get('/');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect({ status: page.statusCode, retryAfter: page.headers['retry-after'], type: page.headers['content-type'] }).toEqual({ status: 503, retryAfter: '5', type: 'text/html; charset=utf-8' });
      expect(page.body).toContain('<code>session_store_unavailable</code>');
    }
    // The API never reads a session; its limits (and the sign-in limit) are counted in memory meanwhile.
    const searches = [];
    for (let i = 0; i <= SEARCHES_PER_MINUTE; i++) searches.push((await search()).statusCode);
    expect(searches).toEqual([...Array(SEARCHES_PER_MINUTE).fill(200), 429]);
    expect(await signInStarts(SIGN_INS_PER_MINUTE + 1)).toEqual([...Array(SIGN_INS_PER_MINUTE).fill(302), 429]);
    expect(logged(TO_MEMORY)).toBe(1);

    await server.start();
    // The session died with Redis: the browser is sent to sign in, and it can.
    expect(await untilPagesAnswer(client)).toBe(302);
    const again = await signIn(tenant, harness, discloser);
    expect((await again.get('/')).statusCode).toBe(200);
    // Counting in Redis again, from its (empty) state: the sign-in above used 2 of the limit.
    expect(await signInStarts(SIGN_INS_PER_MINUTE - 1)).toEqual([...Array(SIGN_INS_PER_MINUTE - 2).fill(302), 429]);
    const look = inspector(server.url);
    expect(await keysUnder(look, `${keyPrefix}rate-limit:anonymous:sign-ins:`)).toHaveLength(1);
    await look.quit();
    expect(logged(TO_REDIS)).toBe(1);

    const statuses = harness.logLines().filter((line) => line.msg === 'request completed').map((line) => (line.res as { statusCode: number }).statusCode);
    expect(statuses.filter((status) => status >= 500 && status !== 503)).toEqual([]);
  });

  it('answers the 503 page, without the key, when the session store fails after the session was read', async () => {
    // Redis gone between reading the session and saving it: a store that stops saving on cue.
    const memory = createMemorySessionStore({ idleMs: 60_000, now: Date.now });
    let saves = true;
    const store: SessionStore = {
      get: (id, callback) => memory.get(id, callback),
      destroy: (id, callback) => memory.destroy(id, callback),
      set: (id: string, session: Session, callback: (error?: unknown) => void) => (saves ? memory.set(id, session, callback) : callback(sessionStoreUnavailable())),
    };
    harness = await buildHarness('redis-save-fails', { env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET }, deps: { sessionStore: store } });
    const device = tenant.directory.notable.typical;
    const client = await signIn(tenant, harness, discloser);
    const form = await openForm(client, device);
    saves = false;

    const reveal = await client.post(`/devices/${device.deviceId}/reveal`, { ...revealFields(tenant, device), ...form });
    expect({ status: reveal.statusCode, type: reveal.headers['content-type'], retryAfter: reveal.headers['retry-after'] }).toEqual({ status: 503, type: 'text/html; charset=utf-8', retryAfter: '5' });
    expect(reveal.body).toContain('<code>session_store_unavailable</code>');
    expect(reveal.body).not.toContain(tenant.directory.recoveryKeys.find((k) => k.deviceId === device.deviceId)!.key.split('-')[0]);
    // The disclosure was recorded before the page was lost; nothing else is recorded for it.
    expect(harness.auditRecords().filter((r) => r.action === 'disclosure').map((r) => r.outcome)).toEqual(['granted']);
  });
});
