import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { startSimulatedTenant, type SimDevice, type SimulatedTenant } from '../../simulator/index.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { createLogger } from '../../src/logging/logger.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { testConfig } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';
import { expectNoIdentifyingLabels, METRICS_TOKEN, scrape, total, type Sample } from './metrics-kit.js';

/**
 * Metrics as Prometheus sees them: scraped over HTTP from a running KeyDesk (the file store,
 * against the simulated tenant), before and after what they count.
 */

const DIR = join(ARTIFACTS_DIR, 'metrics', randomUUID().slice(0, 8));

describe('metrics of one KeyDesk process', () => {
  let tenant: SimulatedTenant;
  let token: string;

  beforeAll(async () => {
    mkdirSync(DIR, { recursive: true });
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    token = await tenant.issueAppToken(tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Disclose'))!.clientId);
  });
  afterAll(async () => {
    await tenant.close();
  });

  async function keydesk(env: Record<string, string> = {}): Promise<RunningServer> {
    const name = randomUUID().slice(0, 8);
    const config = testConfig({ ...tenant.keydeskEnvironment(), HOST: '127.0.0.1', PORT: String(await freePort()), AUDIT_FILE: join(DIR, `${name}.jsonl`), ...env });
    const logger = createLogger('info', pino.destination({ dest: join(DIR, `${name}.log`), sync: true }));
    const server = await startServer(config, { logger, handleSignals: false });
    onTestFinished(() => server.stop());
    return server;
  }

  function requestFor(device: SimDevice, overrides: Record<string, unknown> = {}) {
    const key = tenant.directory.keysOf(device.deviceId)[0]!;
    const requester = tenant.directory.owners(device)[0] ?? tenant.directory.primaryUser(device);
    return { deviceName: device.displayName, keyId: key.id.slice(0, 8).toUpperCase(), ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: requester!.userPrincipalName, ...overrides };
  }

  async function disclose(server: RunningServer, body: object): Promise<number> {
    const response = await fetch(`${server.url}/api/v1/disclosures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    return response.status;
  }

  it('has no /metrics on the main port while METRICS_TOKEN is unset: 404 not_found, as any unknown path', async () => {
    const server = await keydesk();
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const unknown = await fetch(`${server.url}/no-such-path`);
    expect(metrics.status).toBe(404);
    expect(metrics.headers.get('content-type')).toBe(unknown.headers.get('content-type'));
    expect(metrics.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const [metricsBody, unknownBody] = [(await metrics.json()) as Record<string, unknown>, (await unknown.json()) as Record<string, unknown>];
    expect(metricsBody).toMatchObject({ status: 404, code: 'not_found', instance: '/metrics' });
    expect(Object.keys(metricsBody).sort()).toEqual(Object.keys(unknownBody).sort());
    expect(server.metrics).toBeNull();
  });

  it('answers /metrics only with the token: 401 unauthorized with WWW-Authenticate otherwise', async () => {
    const server = await keydesk({ METRICS_TOKEN });
    for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, METRICS_TOKEN]) {
      const response = await fetch(`${server.url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ status: 401, code: 'unauthorized' });
    }
    const samples = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    expect(samples.some((sample) => sample.name === 'keydesk_process_resident_memory_bytes')).toBe(true);
    // Every metric of the issue is there before anything happened (labelled ones once they have a child).
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `bearer ${METRICS_TOKEN}` } })).text();
    for (const name of ['keydesk_disclosures_total', 'keydesk_graph_requests_total', 'keydesk_graph_request_duration_seconds', 'keydesk_graph_retries_total', 'keydesk_graph_throttled_total', 'keydesk_audit_append_duration_seconds', 'keydesk_audit_batch_size', 'keydesk_outbox_depth', 'keydesk_notification_failures_total', 'keydesk_rate_limited_total', 'keydesk_sessions']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('counts a granted and a refused disclosure, the Graph requests with a throttled answer and its retry, and the audit appends', async () => {
    const server = await keydesk({ METRICS_TOKEN });
    const device = tenant.directory.notable.typical;
    const before = await scrape(`${server.url}/metrics`, METRICS_TOKEN);

    // The first Graph request is throttled once (429 with Retry-After: 1), then answered.
    tenant.knobs.throttle({ requests: 1, retryAfterSeconds: 1 });
    expect(await disclose(server, requestFor(device))).toBe(201);
    expect(await disclose(server, requestFor(device, { ticket: 'not a ticket!' }))).toBe(422);
    const after = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

    expect(moved('keydesk_disclosures_total', { outcome: 'granted', code: '' })).toBe(1);
    expect(moved('keydesk_disclosures_total', { outcome: 'refused', code: 'invalid_ticket' })).toBe(1);
    expect(moved('keydesk_graph_throttled_total')).toBe(1);
    expect(moved('keydesk_graph_retries_total')).toBe(1);
    expect(moved('keydesk_graph_requests_total', { status: '429' })).toBe(1);
    expect(moved('keydesk_graph_requests_total', { operation: 'readRecoveryPassword', status: '200' })).toBe(1);
    expect(moved('keydesk_graph_request_duration_seconds_count', { operation: 'readRecoveryPassword' })).toBe(1);
    // Intent and granted, then the refusal: three records, each timed, in one or more batches.
    expect(moved('keydesk_audit_append_duration_seconds_count')).toBe(3);
    expect(moved('keydesk_audit_batch_size_sum')).toBe(3);
    expect(moved('keydesk_audit_batch_size_count')).toBeGreaterThanOrEqual(1);
    const operations = new Set(after.filter((s) => s.name === 'keydesk_graph_requests_total').map((s) => s.labels.operation));
    expect([...operations].every((operation) => ['findDevices', 'getDevice', 'getIntuneRecord', 'findUser', 'listRecoveryKeys', 'readRecoveryPassword'].includes(operation!))).toBe(true);
    expectNoLeaks(after, device);
  }, 30_000);

  function expectNoLeaks(samples: Sample[], device: SimDevice): void {
    const people = [...tenant.directory.owners(device), tenant.directory.primaryUser(device)].filter((user) => user !== null && user !== undefined);
    expectNoIdentifyingLabels(samples, [device.displayName, device.deviceId, ...people.map((user) => user!.userPrincipalName)]);
  }

  it('counts refusals by the rate limit by the limit, not by who hit it', async () => {
    const server = await keydesk({ METRICS_TOKEN, RATE_LIMIT_DISCLOSURES_PER_MINUTE: '1' });
    const device = tenant.directory.notable.typical;
    const before = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    expect(await disclose(server, requestFor(device, { ticket: 'bad ticket' }))).toBe(422);
    expect(await disclose(server, requestFor(device))).toBe(429);
    const after = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    expect(total(after, 'keydesk_rate_limited_total', { limit: 'disclosures' }) - total(before, 'keydesk_rate_limited_total', { limit: 'disclosures' })).toBe(1);
    expect(total(after, 'keydesk_disclosures_total', { outcome: 'refused', code: 'rate_limited' }) - total(before, 'keydesk_disclosures_total', { outcome: 'refused', code: 'rate_limited' })).toBe(1);
    expectNoLeaks(after, device);
  });

  it('serves the metrics without a token on METRICS_PORT (METRICS_HOST), and nothing else there', async () => {
    const port = await freePort();
    const server = await keydesk({ METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
    expect(server.metrics?.url).toBe(`http://127.0.0.1:${port}`);
    const samples = await scrape(`http://127.0.0.1:${port}/metrics`);
    expect(samples.some((sample) => sample.name === 'keydesk_sessions')).toBe(true);
    // The main port still has no /metrics without METRICS_TOKEN.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const other = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: 'not_found' });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
