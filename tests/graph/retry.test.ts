import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { parseRetryAfter } from '../../src/graph/retry.js';
import { problemOf } from '../helpers/problems.js';
import { DEVICE_ID, GRAPH, KEYS, KEYS_PATH, captureLog, fakeTime, graphConfig, mockTokenEndpoint, gatewayFor, type GatewayTestConfig } from '../helpers/graph-fixtures.js';


beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** A gateway whose jitter is always half the backoff cap (125, 250, 500 ms …) and whose clock only moves when it sleeps. */
function gateway(graph: Partial<GatewayTestConfig['graph']> = {}) {
  const log = captureLog();
  const time = fakeTime();
  const config = graphConfig({ graph: { retryBudgetMs: 1_000, requestTimeoutMs: 1_000, ...graph } });
  const gw = gatewayFor(config, { logger: log.logger, sleep: time.sleep, now: time.now, random: () => 0.5 });
  const attempts = () => (log.records().find((r) => String(r.msg).startsWith('Graph call'))?.graph as { attempts?: number } | undefined)?.attempts;
  return { gw, log, time, attempts };
}


describe('throttling (429)', () => {
  it("waits exactly Graph's Retry-After seconds, then succeeds on the second attempt", async () => {
    const { gw, time, attempts } = gateway({ retryBudgetMs: 5_000 });
    mockTokenEndpoint();
    const scope = nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .reply(429, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, { 'Retry-After': '2' })
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    const keys = await gw.listRecoveryKeys(DEVICE_ID);

    expect(scope.isDone()).toBe(true);
    expect(keys).toHaveLength(1);
    expect(time.waits).toEqual([2_000]);
    expect(attempts()).toBe(2);
  });

  it('reads a Retry-After given as an HTTP date', async () => {
    const { gw, time } = gateway({ retryBudgetMs: 5_000 });
    mockTokenEndpoint();
    const inThreeSeconds = new Date(time.now() + 3_000).toUTCString();
    nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .reply(429, '', { 'Retry-After': inThreeSeconds })
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);

    expect(time.waits).toEqual([3_000]);
  });

  it("fails at once with graph_unavailable, passing Graph's Retry-After on, when Graph asks for a wait longer than the budget", async () => {
    const { gw, time } = gateway({ retryBudgetMs: 1_000 });
    mockTokenEndpoint();
    const scope = nock(GRAPH).get(KEYS_PATH).query(true).reply(429, '', { 'Retry-After': '30' });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(scope.isDone()).toBe(true);
    expect(problem.code).toBe('graph_unavailable');
    expect(problem.status).toBe(503);
    expect(problem.headers['Retry-After']).toBe('30');
    expect(problem.detail).toContain('throttled');
    expect(problem.detail).toContain('1 attempt ');
    expect(time.waits).toEqual([]);
  });
});

describe('transient failures (503, 504, network, timeout)', () => {
  it('retries a burst of 503 and 504 answers with doubling, jittered waits, then succeeds', async () => {
    const { gw, time, attempts } = gateway({ retryBudgetMs: 5_000 });
    mockTokenEndpoint();
    nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .reply(503, '')
      .get(KEYS_PATH)
      .query(true)
      .reply(504, '')
      .get(KEYS_PATH)
      .query(true)
      .reply(503, '')
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);

    expect(time.waits).toEqual([125, 250, 500]);
    expect(attempts()).toBe(4);
  });

  it('gives up with graph_unavailable, a Retry-After and the attempt count when an outage outlasts the budget', async () => {
    const { gw, time, log } = gateway({ retryBudgetMs: 1_000 });
    mockTokenEndpoint();
    // Waits of 125 + 250 + 500 ms fit in 1 000 ms; the fourth, 1 000 ms, does not.
    const scope = nock(GRAPH).get(KEYS_PATH).query(true).times(4).reply(503, { error: { code: 'ServiceUnavailable', message: 'x' } });

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(scope.isDone()).toBe(true);
    expect(problem.code).toBe('graph_unavailable');
    expect(problem.headers['Retry-After']).toBe('4');
    expect(problem.detail).toContain('unavailable (503)');
    expect(problem.detail).toContain('4 attempts');
    expect(problem.extensions).toMatchObject({ graphAttempts: 4, graphFailure: 'unavailable' });
    expect(time.waits).toEqual([125, 250, 500]);
    const line = log.records().find((r) => r.msg === 'Graph call failed');
    expect(line?.graph).toMatchObject({ operation: 'listRecoveryKeys', status: 503, attempts: 4, problem: 'graph_unavailable' });
  });

  it('counts a hung request as a failed attempt and retries it', async () => {
    const { gw, time, attempts } = gateway({ requestTimeoutMs: 100, retryBudgetMs: 1_000 });
    mockTokenEndpoint();
    nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .delay(2_000)
      .reply(200, KEYS)
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    const keys = await gw.listRecoveryKeys(DEVICE_ID);

    expect(keys).toHaveLength(1);
    expect(attempts()).toBe(2);
    expect(time.waits).toEqual([125]);
  });

  it('counts a body that stalls after the headers as a timed-out attempt', async () => {
    const { gw, attempts } = gateway({ requestTimeoutMs: 100, retryBudgetMs: 1_000 });
    mockTokenEndpoint();
    nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .delayBody(2_000)
      .reply(200, KEYS)
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    const keys = await gw.listRecoveryKeys(DEVICE_ID);

    expect(keys).toHaveLength(1);
    expect(attempts()).toBe(2);
  });

  it('says the call timed out when every attempt hangs', async () => {
    const { gw } = gateway({ requestTimeoutMs: 50, retryBudgetMs: 300 });
    mockTokenEndpoint();
    nock(GRAPH).get(KEYS_PATH).query(true).times(2).delay(2_000).reply(200, KEYS);

    const problem = await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(problem.code).toBe('graph_unavailable');
    expect(problem.detail).toContain('did not answer within 50 ms');
    expect(problem.detail).toContain('2 attempts');
    expect(problem.extensions.graphFailure).toBe('timeout');
  });

  it('retries a dropped connection', async () => {
    const { gw, attempts } = gateway();
    mockTokenEndpoint();
    nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' })
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);

    await gw.listRecoveryKeys(DEVICE_ID);

    expect(attempts()).toBe(2);
  });

  it('does not retry an answer that will not change (403)', async () => {
    const { gw, time, attempts } = gateway();
    mockTokenEndpoint();
    nock(GRAPH).get(KEYS_PATH).query(true).reply(403, { error: { code: 'authorization_error', message: 'x' } });

    await problemOf(gw.listRecoveryKeys(DEVICE_ID));

    expect(attempts()).toBe(1);
    expect(time.waits).toEqual([]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');

  it('reads delay-seconds and HTTP dates as milliseconds to wait', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', now)).toBe(5_000);
  });

  it('treats a date in the past as no wait and anything unreadable as absent', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-1', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
