import { randomUUID } from 'node:crypto';
import { onTestFinished } from 'vitest';
import { pino } from 'pino';
import { alertBackendFor, createAlertWatch, type AlertWatch } from '../../src/alerts/alert-watch.js';
import type { AlertBackend } from '../../src/alerts/alert-backend.js';
import type { AuditCaller, AuditRecord } from '../../src/audit/types.js';
import type { AuditStore } from '../../src/audit/store.js';
import { DEFAULT_TICKET_PATTERN } from '../../src/config/config.js';
import type { Device } from '../../src/graph/types.js';
import { createDisclosureService, type DisclosureResult, type DisclosureService } from '../../src/disclosure/service.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { FakeGraph, device, recoveryKey, user } from '../helpers/fakes.js';
import { testConfig } from '../helpers/config.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

/**
 * One KeyDesk instance's disclosure service with its alert rules, on a given audit store, with a
 * clock the test moves: the store stamps each record with it, and the rules read the records' times.
 */

export const ann = user('ann@contoso.com');
export const ticketingApp: AuditCaller = { kind: 'app', appId: 'c2d9e1f0-4b3a-4e8d-9a7c-1f2e3d4c5b6a', oid: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d', upn: null, name: 'ServiceNow', ip: '10.0.0.7', userAgent: 'ServiceNow' };
export const staff = (upn: string): AuditCaller => ({ kind: 'user', appId: '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43', oid: randomUUID(), upn, name: upn, ip: '10.0.0.8', userAgent: 'Firefox' });

/** A tenant of `count` laptops owned by ann, each with one key. */
export function laptops(count: number): FakeGraph {
  const devices: Device[] = [];
  const keys = [];
  const passwords: Record<string, string> = {};
  for (let n = 1; n <= count; n += 1) {
    const laptop = device({ displayName: `LAPTOP-${n}`, registeredOwners: [{ id: ann.id, userPrincipalName: ann.userPrincipalName }] });
    const key = recoveryKey(laptop.deviceId);
    devices.push(laptop);
    keys.push(key);
    passwords[key.id] = fakeRecoveryPassword();
  }
  return new FakeGraph({ devices, users: [ann], intune: {}, keys, passwords });
}

export class Clock {
  constructor(public ms: number) {}
  readonly date = () => new Date(this.ms);
  readonly now = () => this.ms;
  advance(minutes: number): void {
    this.ms += minutes * 60_000;
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

export interface Instance {
  service: DisclosureService;
  watch: AlertWatch;
  log: ReturnType<typeof memoryLogger>;
  /** A granted disclosure of LAPTOP-<n> (a refusal fails the test). */
  grant(n: number, options?: { caller?: AuditCaller; agentUpn?: string }): Promise<DisclosureResult>;
  /** A disclosure of LAPTOP-<n> refused for a key ID that matches no key. */
  refuse(n: number, options?: { caller?: AuditCaller; agentUpn?: string }): Promise<DisclosureResult>;
}

export interface InstanceOptions {
  env?: Record<string, string>;
  /** The runtime role's URL with PostgreSQL: the rules then count and claim there. */
  databaseUrl?: string | null;
  now: () => number;
  /** Instead of the backend the configuration calls for (a wrapped one that counts its calls). */
  backend?: AlertBackend;
}

export function instanceOn(store: AuditStore, graph: FakeGraph, options: InstanceOptions): Instance {
  const config = testConfig(options.env ?? {}).alerts;
  const log = memoryLogger();
  const url = options.databaseUrl ?? null;
  const backend = options.backend ?? alertBackendFor(config, url === null ? null : { url, migrationUrl: url, poolMax: 2 }, { audit: store, now: options.now, logger: log.logger });
  const watch = createAlertWatch(config, { audit: store, backend, logger: log.logger });
  onTestFinished(() => watch.close());
  const policy = { requesterCheck: 'enforce' as const, ticketPattern: new RegExp(DEFAULT_TICKET_PATTERN), disabledDeviceCheck: 'enforce' as const, disabledRequesterCheck: 'enforce' as const };
  const service = createDisclosureService({ graph, audit: store, policy, newId: randomUUID, onOutcome: (record) => watch.observe(record) });
  const attempt = (n: number, keyId: string, options: { caller?: AuditCaller; agentUpn?: string }) =>
    service.disclose({
      door: 'api',
      caller: options.caller ?? ticketingApp,
      requestId: randomUUID(),
      callerRequestId: null,
      inputLocation: 'body',
      log: pino({ level: 'silent' }),
      input: { deviceName: `LAPTOP-${n}`, keyId, ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: ann.userPrincipalName, agentUpn: options.agentUpn ?? 'sam.agent@contoso.com' },
    });
  return {
    service,
    watch,
    log,
    async grant(n, options = {}) {
      const key = graph.directory.keys[n - 1]!;
      const result = await attempt(n, key.id.slice(0, 8).toUpperCase(), options);
      if (result.outcome !== 'granted') throw new Error(`expected a grant, got ${result.problem.code}`);
      return result;
    },
    async refuse(n, options = {}) {
      const result = await attempt(n, 'FFFFFFFF', options);
      if (result.outcome !== 'refused') throw new Error('expected a refusal');
      return result;
    },
  };
}

/** The alert records of the trail, oldest first, after every evaluation has finished. */
export async function alertsOf(store: AuditStore, watches: AlertWatch[]): Promise<AuditRecord[]> {
  for (const watch of watches) await watch.idle();
  const page = await store.query({ action: 'alert' }, { limit: 500 });
  return page.records.reverse();
}

export const rulesOf = (alerts: AuditRecord[]) => alerts.map((alert) => `${String(alert.details?.rule)} ${String(alert.details?.subject)}`);
