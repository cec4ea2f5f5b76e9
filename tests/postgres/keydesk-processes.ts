import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { SimDirectory, SimulatedTenant } from '../../simulator/index.js';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { freePort } from '../helpers/net.js';
import { migrate, query, testDatabase } from './audit-tools-kit.js';
import type { TestDatabase } from './pg-kit.js';

/**
 * KeyDesk as a deployment runs it — `node dist/src/server/main.js`, one process per instance,
 * AUDIT_STORE=postgres on one database — against the simulated tenant in the test process.
 */

/** Every instance's AUDIT_HMAC_KEY: one chain needs one key. */
export const HMAC_KEY = 'two-instances-audit-hmac-key-0123456789abcdef';

const ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'src', 'server', 'main.js');

export interface KeyDeskProcess {
  name: string;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code; the log is kept under test-artifacts/ for the secret scan. */
  stop(): Promise<number | null>;
}

/**
 * A migrated database with a runtime role of the test's own that holds only the runtime GRANTs:
 * KeyDesk runs as that role, as the README tells operators to run it.
 */
export async function sharedDatabase(): Promise<{ database: TestDatabase; runtimeUrl: string }> {
  const database = await testDatabase({ migrated: false });
  await migrate(database.url);
  const role = await database.createRole('keydesk_runtime');
  await query(database, runtimeGrants(role));
  return { database, runtimeUrl: database.urlAs(role) };
}

/** Starts one instance and waits until `/readyz` says it may serve disclosures. */
export async function startKeyDesk(name: string, tenant: SimulatedTenant, databaseUrl: string): Promise<KeyDeskProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      ...tenant.keydeskEnvironment(),
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      AUDIT_HMAC_KEY: HMAC_KEY,
      // One ticketing app sends all the load: its rate limit would be the test's subject, not the trail.
      RATE_LIMIT_DISCLOSURES_PER_MINUTE: '0',
      RATE_LIMIT_SEARCHES_PER_MINUTE: '0',
      // Nor its alerts (the same devices again and again): these tests count the trail's records exactly.
      ALERT_DISCLOSURES_PER_HOUR: '0',
      ALERT_REPEAT_DEVICE_HOURS: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => log.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const keepLog = () => {
    const dir = join(ARTIFACTS_DIR, 'postgres-instances');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}-${randomUUID().slice(0, 8)}.log`), Buffer.concat(log));
  };
  const instance: KeyDeskProcess = {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      keepLog();
      return code;
    },
  };
  onTestFinished(async () => {
    await instance.stop();
  });
  await waitUntilReady(instance, () => Buffer.concat(log).toString('utf8'));
  return instance;
}

async function waitUntilReady(instance: KeyDeskProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (instance.child.exitCode !== null) throw new Error(`KeyDesk ${instance.name} exited with ${instance.child.exitCode}:\n${output()}`);
    const status = await fetch(`${instance.url}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`KeyDesk ${instance.name} was not ready within 20 s:\n${output()}`);
}

export interface DisclosureRequest {
  deviceName: string;
  keyId: string;
  ticket: string;
  reason: string;
  requesterUpn: string;
}

/** Disclosures the seeded tenant grants: a device with a unique name, one key and an enabled owner to name. */
export function grantableDisclosures(directory: SimDirectory): DisclosureRequest[] {
  return directory.devices
    .filter((device) => device.accountEnabled && directory.devicesNamed(device.displayName).length === 1)
    .map((device) => ({ device, keys: directory.keysOf(device.deviceId), owners: directory.owners(device).filter((owner) => owner.accountEnabled) }))
    .filter(({ keys, owners }) => keys.length === 1 && owners.length > 0)
    .map(({ device, keys, owners }) => ({
      deviceName: device.displayName,
      keyId: keys[0]!.id.slice(0, 8).toUpperCase(),
      ticket: 'INC0012345',
      reason: 'forgotten_pin',
      requesterUpn: owners[0]!.userPrincipalName,
    }));
}

export interface DisclosureAnswer {
  status: number;
  /** From the response body (a 201 or a recorded refusal); null when there was no answer. */
  disclosureId: string | null;
  code: string | null;
}

/** POSTs one disclosure; a connection that fails (the instance was killed) is status 0. Never prints the body. */
export async function disclose(url: string, token: string, request: DisclosureRequest): Promise<DisclosureAnswer> {
  try {
    const response = await fetch(`${url}/api/v1/disclosures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    const body = (await response.json()) as { disclosureId?: string; code?: string };
    return { status: response.status, disclosureId: body.disclosureId ?? null, code: body.code ?? null };
  } catch {
    return { status: 0, disclosureId: null, code: null };
  }
}
