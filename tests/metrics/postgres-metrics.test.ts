import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { startServer } from '../../src/server/start.js';
import { createLogger } from '../../src/logging/logger.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { testConfig } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';
import { createTestDatabase, type TestDatabase } from '../postgres/pg-kit.js';
import { grantableDisclosures, type DisclosureRequest } from '../postgres/keydesk-processes.js';
import { expectNoIdentifyingLabels, METRICS_TOKEN, scrape, total } from './metrics-kit.js';

/**
 * Metrics on the PostgreSQL store: the audit appends of one process, and the sum over the
 * workers of `WORKERS=2` that the primary serves on METRICS_PORT (and a worker's /metrics with
 * the token asks it for).
 */

const ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'src', 'server', 'main.js');
const DIR = join(ARTIFACTS_DIR, 'metrics-postgres', randomUUID().slice(0, 8));

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  onTestFinished(() => db.drop());
  return db;
}

/** One POST on a connection of its own, so that node:cluster hands each to the next worker. */
function discloseOnNewConnection(url: string, token: string, body: DisclosureRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}/api/v1/disclosures`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (incoming) => {
      incoming.resume();
      incoming.on('end', () => resolve(incoming.statusCode ?? 0));
    });
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

describe('metrics on the PostgreSQL audit store', () => {
  let tenant: SimulatedTenant;
  let token: string;
  let targets: DisclosureRequest[];

  beforeAll(async () => {
    mkdirSync(DIR, { recursive: true });
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    token = await tenant.issueAppToken(tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Disclose'))!.clientId);
    targets = grantableDisclosures(tenant.directory);
  });
  afterAll(async () => {
    await tenant.close();
  });

  it('times each append until PostgreSQL committed it, and counts the records of each commit', async () => {
    const db = await database();
    const config = testConfig({ ...tenant.keydeskEnvironment(), HOST: '127.0.0.1', PORT: String(await freePort()), AUDIT_STORE: 'postgres', DATABASE_URL: db.url, METRICS_TOKEN });
    const logger = createLogger('info', pino.destination({ dest: join(DIR, 'one-process.log'), sync: true }));
    const server = await startServer(config, { logger, handleSignals: false });
    onTestFinished(() => server.stop());
    const before = await scrape(`${server.url}/metrics`, METRICS_TOKEN);

    const statuses = await Promise.all(targets.slice(0, 4).map((target) => discloseOnNewConnection(server.url, token, target)));
    expect(statuses).toEqual([201, 201, 201, 201]);
    const after = await scrape(`${server.url}/metrics`, METRICS_TOKEN);
    const moved = (name: string) => total(after, name) - total(before, name);
    // An intent and a granted record each.
    expect(moved('keydesk_audit_append_duration_seconds_count')).toBe(8);
    expect(moved('keydesk_audit_batch_size_sum')).toBe(8);
    expect(moved('keydesk_audit_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(moved('keydesk_audit_batch_size_count')).toBeLessThanOrEqual(8);
    expect(total(after, 'keydesk_disclosures_total', { outcome: 'granted' }) - total(before, 'keydesk_disclosures_total', { outcome: 'granted' })).toBe(4);
  }, 60_000);

  it.each([
    ['with METRICS_TOKEN', true],
    ['without METRICS_TOKEN', false],
  ])('sums both workers of WORKERS=2 on the token-free METRICS_PORT, and on the /metrics of either worker when METRICS_TOKEN is set (%s)', async (_name, withToken) => {
    const db = await database();
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        ...tenant.keydeskEnvironment(),
        HOST: '127.0.0.1',
        PORT: String(port),
        AUDIT_STORE: 'postgres',
        DATABASE_URL: db.url,
        WORKERS: '2',
        METRICS_PORT: String(metricsPort),
        ...(withToken ? { METRICS_TOKEN } : {}),
        RATE_LIMIT_DISCLOSURES_PER_MINUTE: '0',
        LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      writeFileSync(join(DIR, 'workers.log'), output);
    });
    const lines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; worker?: number });
    await expect.poll(() => lines().filter((line) => line.msg === 'KeyDesk listening').length, { timeout: 30_000, interval: 100 }).toBe(2);
    await expect.poll(() => lines().some((line) => line.msg === 'metrics listening (no token: METRICS_PORT)'), { timeout: 10_000, interval: 100 }).toBe(true);

    const url = `http://127.0.0.1:${port}`;
    const statuses: number[] = [];
    for (const target of targets.slice(0, 6)) statuses.push(await discloseOnNewConnection(url, token, target));
    statuses.push(await discloseOnNewConnection(url, token, { ...targets[0]!, ticket: 'no ticket' }));
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 422]);
    // Both workers disclosed: the sum below is of two registries, not of one.
    const disclosingWorkers = new Set(lines().filter((line) => line.msg === 'disclosure granted').map((line) => line.worker));
    expect(disclosingWorkers.size).toBe(2);

    const summed = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(total(summed, 'keydesk_disclosures_total', { outcome: 'granted', code: '' })).toBe(6);
    expect(total(summed, 'keydesk_disclosures_total', { outcome: 'refused', code: 'invalid_ticket' })).toBe(1);
    expect(total(summed, 'keydesk_audit_append_duration_seconds_count')).toBe(13);
    if (withToken) {
      // The main port's /metrics answers from whichever worker, with the same sum.
      for (let n = 0; n < 2; n += 1) {
        const viaWorker = await scrape(`${url}/metrics`, METRICS_TOKEN);
        expect(total(viaWorker, 'keydesk_disclosures_total', { outcome: 'granted' })).toBe(6);
      }
    }
    expect((await fetch(`${url}/metrics`)).status).toBe(withToken ? 401 : 404);
    const forbidden = targets.slice(0, 6).flatMap((target) => [target.deviceName, target.requesterUpn]);
    expectNoIdentifyingLabels(summed, forbidden);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
