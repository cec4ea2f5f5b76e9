import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { startServer } from '../../src/server/start.js';
import { createLogger } from '../../src/logging/logger.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { testConfig } from '../helpers/config.js';
import { CLIENT_ID, TENANT_ID } from '../helpers/entra.js';
import { FakeGraph, device, recoveryKey } from '../helpers/fakes.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { freePort } from '../helpers/net.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY = join(ROOT, 'dist', 'src', 'server', 'main.js');

describe('the entry command (node dist/src/server/main.js, as npm start and the image run it)', () => {
  const dir = join(ARTIFACTS_DIR, 'server', randomUUID().slice(0, 8));

  // The test runs what a deployment runs: the compiled entry point, built from this tree by the
  // global setup.
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
  });

  it('refuses to start without configuration, naming each missing variable', () => {
    const result = spawnSync(process.execPath, [ENTRY], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('AZURE_TENANT_ID is missing');
    expect(result.stderr).toContain('AZURE_CLIENT_ID is missing');
    expect(result.stderr).toContain('AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is missing');
    expect(result.stdout).toBe('');
  });

  it('refuses a bad value, naming the variable and how to fix it', () => {
    const result = spawnSync(process.execPath, [ENTRY], {
      env: { PATH: process.env.PATH ?? '', AZURE_TENANT_ID: TENANT_ID, AZURE_CLIENT_ID: CLIENT_ID, AZURE_CLIENT_SECRET: 's', GRAPH_BASE_URL: 'http://graph.example' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/GRAPH_BASE_URL="http:\/\/graph.example" is not valid: use the https URL/);
  });

  it.each([
    ['info', ['AUDIT_HMAC_KEY is not set', 'KeyDesk listening', '"msg":"audit chain opened"', 'audit log flushed and closed'], []],
    // A quiet service still logs the audit chain head: it is how a truncated trail is noticed.
    ['error', ['"msg":"audit chain opened"'], ['KeyDesk listening', 'AUDIT_HMAC_KEY is not set']],
  ])('serves, then drains and closes the audit log on SIGTERM (LOG_LEVEL=%s)', async (level, logged, notLogged) => {
    const port = await freePort();
    const auditFile = join(dir, `audit-${level}.jsonl`);
    const child = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        AZURE_TENANT_ID: TENANT_ID,
        AZURE_CLIENT_ID: CLIENT_ID,
        AZURE_CLIENT_SECRET: 'entry-test-secret',
        HOST: '127.0.0.1',
        PORT: String(port),
        AUDIT_FILE: auditFile,
        LOG_LEVEL: level,
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status, { timeout: 10_000, interval: 100 }).toBe(200);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      // This machine cannot reach Entra: the instance serves, but says it is not ready to disclose.
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { audit: 'writable', identityProvider: expect.stringMatching(/^(pending|failing)$/) } });
      const anonymous = await fetch(`http://127.0.0.1:${port}/api/v1/devices?name=PC`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    writeFileSync(join(dir, `service-${level}.log`), output);
    for (const text of logged) expect(output).toContain(text);
    for (const text of notLogged) expect(output).not.toContain(text);
    expect(output).not.toContain('entry-test-secret');
  });
});

describe('graceful shutdown', () => {
  const dir = join(ARTIFACTS_DIR, 'server', randomUUID().slice(0, 8));
  let stop: (() => Promise<void>) | null = null;

  afterAll(async () => {
    await stop?.();
  });

  it('finishes a disclosure already in flight before closing the audit log, then refuses connections', async () => {
    mkdirSync(dir, { recursive: true });
    const laptop = device({ displayName: 'LAPTOP-ANN', registeredOwners: [{ id: 'u1', userPrincipalName: 'ann@contoso.com' }] });
    const key = recoveryKey(laptop.deviceId, { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab' });
    const graph = new FakeGraph({ devices: [laptop], intune: {}, keys: [key], passwords: { [key.id]: fakeRecoveryPassword() } });
    let deviceLookupStarted!: () => void;
    const started = new Promise<void>((resolve) => (deviceLookupStarted = resolve));
    const findDevicesByName = graph.findDevicesByName.bind(graph);
    graph.findDevicesByName = async (name) => {
      deviceLookupStarted();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return findDevicesByName(name);
    };
    const auditFile = join(dir, 'audit.jsonl');
    const config = { ...testConfig({ AUDIT_FILE: auditFile, HOST: '127.0.0.1' }), port: await freePort() };
    const logger = createLogger('info', pino.destination({ dest: join(dir, 'service.log'), sync: true }));
    const server = await startServer(config, {
      logger,
      graph,
      tokenVerifier: {
        verify: async () => ({ kind: 'app', appId: 'snow', oid: 'sp', upn: null, name: null, roles: ['BitLocker.Disclose'], scopes: [], acrs: [], tenantId: 't', tokenVersion: '2.0' }),
        checkIdentityProvider: async () => undefined,
      },
      handleSignals: false,
    });
    stop = server.stop;

    const inFlight = fetch(`${server.url}/api/v1/disclosures`, {
      method: 'POST',
      headers: { authorization: 'Bearer a.b.c', 'content-type': 'application/json' },
      body: JSON.stringify({ deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: 'ann@contoso.com' }),
    });
    await started;
    const stopped = server.stop();
    const response = await inFlight;
    expect(response.status).toBe(201);
    await response.arrayBuffer();
    await stopped;

    const actions = readFileSync(auditFile, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { action: string }).action);
    expect(actions).toEqual(['disclosure_intent', 'disclosure']);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
