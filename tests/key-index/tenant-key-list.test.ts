import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { createTenantKeyList, KEY_LIST_WINDOW_MS } from '../../src/graph/tenant-key-list.js';
import { GraphTokenProvider } from '../../src/graph/token-provider.js';
import { createMsalClient } from '../../src/graph/msal-client.js';
import type { RecoveryKeyMetadata } from '../../src/graph/types.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { testConfig } from '../helpers/config.js';
import { fakeTime } from '../helpers/graph-fixtures.js';
import { SIMULATOR_DIR } from '../global-setup.js';

/**
 * The sync's reading of Graph's tenant-wide key list against the simulated tenant, on a clock the
 * test owns: no more requests in any simulated 10 s than KEY_INDEX_SYNC_REQUESTS_PER_10S, and a
 * 429's Retry-After waited out in full. Nothing here measures wall time.
 */

const KEY_LIST = '/v1.0/informationProtection/bitlocker/recoveryKeys';

describe("Graph's tenant-wide key list, as the sync reads it", () => {
  let tenant: SimulatedTenant;
  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR, pageSizes: { plain: 30 } });
  });
  afterAll(() => tenant.close());
  afterEach(() => {
    tenant.knobs.reset();
    tenant.clearLogs();
  });

  /** The list on a simulated clock; each Graph request is stamped with the simulated time it went out at. */
  function pacedList(requestsPer10s: number) {
    const time = fakeTime();
    const marks: Array<{ logged: number; at: number }> = [{ logged: 0, at: time.now() }];
    const sleep = async (ms: number) => {
      await time.sleep(ms);
      marks.push({ logged: tenant.graphRequests.length, at: time.now() });
    };
    const config = testConfig(tenant.keydeskEnvironment());
    const { logger } = memoryLogger();
    const tokenProvider = new GraphTokenProvider(config, { logger, msal: createMsalClient(config) });
    const list = createTenantKeyList(config, { logger, tokenProvider, requestsPer10s, sleep, now: time.now });
    const sentAt = () =>
      tenant.graphRequests.flatMap((request, index) => (request.path === KEY_LIST ? [marks.filter((mark) => mark.logged <= index).at(-1)!.at] : []));
    return { list, time, sentAt };
  }

  async function readAll(list: ReturnType<typeof createTenantKeyList>): Promise<RecoveryKeyMetadata[]> {
    const keys: RecoveryKeyMetadata[] = [];
    await list.readAll(async (page) => {
      keys.push(...page);
    });
    return keys;
  }

  it('reads every key of the tenant with no more requests in any 10 s than it is allowed', async () => {
    const { list, sentAt } = pacedList(3);
    const keys = await readAll(list);
    expect(keys.map((k) => k.id).sort()).toEqual(tenant.directory.recoveryKeys.map((k) => k.id).sort());
    const times = sentAt();
    expect(times.length).toBe(Math.ceil(tenant.directory.recoveryKeys.length / 30));
    expect(times.length).toBeGreaterThan(9);
    for (const start of times) expect(times.filter((t) => t >= start && t < start + KEY_LIST_WINDOW_MS).length).toBeLessThanOrEqual(3);
    // Metadata only: the list never asks for, nor gets, a recovery password.
    expect(tenant.graphRequests.every((r) => !Object.keys(r.query).some((name) => name.toLowerCase() === '$select' || name.toLowerCase() === '$top'))).toBe(true);
    expect(keys.every((k) => !('key' in k))).toBe(true);
  });

  it("waits out a 429's Retry-After, however long, and carries on from the same page", async () => {
    const { list, time } = pacedList(20);
    tenant.knobs.throttle({ requests: 2, retryAfterSeconds: 45 });
    const keys = await readAll(list);
    expect(keys).toHaveLength(tenant.directory.recoveryKeys.length);
    expect(time.waits.filter((ms) => ms === 45_000)).toHaveLength(2);
    expect(tenant.graphRequests.filter((r) => r.fault === 'throttled')).toHaveLength(2);
  });

  it('is refused $top by the simulated Graph, as the real list refuses it', async () => {
    const config = testConfig(tenant.keydeskEnvironment());
    const { logger } = memoryLogger();
    const token = await new GraphTokenProvider(config, { logger, msal: createMsalClient(config) }).getAccessToken();
    const answer = await fetch(`${tenant.graphBaseUrl}${KEY_LIST}?$top=10`, { headers: { authorization: `Bearer ${token}`, 'user-agent': 'KeyDesk-test' } });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('BadRequest');
  });
});
