import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { metricsRegistry } from '../../src/metrics/metrics.js';
import { DEVICE_ID, GRAPH, KEYS, KEYS_PATH, captureLog, fakeTime, graphConfig, gatewayFor, mockTokenEndpoint } from '../helpers/graph-fixtures.js';
import { expectNoIdentifyingLabels, parseExposition, total } from './metrics-kit.js';

/**
 * The Graph metrics against Graph answers mocked with nock: a 429 with Retry-After, then its
 * answer; and an attempt that got no answer at all (status 0).
 */

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const sample = async () => parseExposition(await metricsRegistry.metrics());

function gateway() {
  const time = fakeTime();
  const config = graphConfig({ graph: { retryBudgetMs: 5_000, requestTimeoutMs: 1_000 } });
  return gatewayFor(config, { logger: captureLog().logger, sleep: time.sleep, now: time.now, random: () => 0.5 });
}

describe('keydesk_graph_* metrics', () => {
  it('counts a throttled answer, its retry and both attempts by operation and status', async () => {
    mockTokenEndpoint();
    nock(GRAPH)
      .get(KEYS_PATH)
      .query(true)
      .reply(429, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, { 'Retry-After': '2' })
      .get(KEYS_PATH)
      .query(true)
      .reply(200, KEYS);
    const before = await sample();

    await gateway().listRecoveryKeys(DEVICE_ID);

    const after = await sample();
    const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    expect(moved('keydesk_graph_throttled_total')).toBe(1);
    expect(moved('keydesk_graph_retries_total')).toBe(1);
    expect(moved('keydesk_graph_requests_total', { operation: 'listRecoveryKeys', status: '429' })).toBe(1);
    expect(moved('keydesk_graph_requests_total', { operation: 'listRecoveryKeys', status: '200' })).toBe(1);
    expect(moved('keydesk_graph_request_duration_seconds_count', { operation: 'listRecoveryKeys' })).toBe(2);
    expectNoIdentifyingLabels(after, [DEVICE_ID]);
  });

  it('counts an attempt that got no answer as status 0, and does not time it as answered', async () => {
    mockTokenEndpoint();
    nock(GRAPH).get(KEYS_PATH).query(true).times(8).replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    const before = await sample();

    await expect(gateway().listRecoveryKeys(DEVICE_ID)).rejects.toMatchObject({ code: 'graph_unavailable' });

    const after = await sample();
    const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    const attempts = moved('keydesk_graph_requests_total', { operation: 'listRecoveryKeys', status: '0' });
    expect(attempts).toBeGreaterThan(1);
    expect(moved('keydesk_graph_retries_total')).toBe(attempts - 1);
    expect(moved('keydesk_graph_request_duration_seconds_count', { operation: 'listRecoveryKeys' })).toBe(0);
    expect(moved('keydesk_graph_throttled_total')).toBe(0);
  });
});
