import { beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { DEFAULT_TICKET_PATTERN } from '../../src/config/config.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { createDisclosureService, type DisclosureAttempt, type DisclosureResult, type GrantedDisclosure, type RefusedDisclosure } from '../../src/disclosure/service.js';
import type { DisclosurePolicy } from '../../src/disclosure/disclose.js';
import type { AuditCaller } from '../../src/audit/types.js';
import { FakeGraph, MemoryAuditSink, device, recoveryKey, user } from '../helpers/fakes.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

const caller: AuditCaller = { kind: 'app', appId: 'app-1', oid: 'sp-1', upn: null, name: null, ip: '10.0.0.7', userAgent: 'ServiceNow' };
const basePolicy: DisclosurePolicy = { requesterCheck: 'enforce', ticketPattern: new RegExp(DEFAULT_TICKET_PATTERN), disabledDeviceCheck: 'enforce', disabledRequesterCheck: 'enforce' };

function granted(result: DisclosureResult): GrantedDisclosure {
  if (result.outcome !== 'granted') throw new Error(`expected a grant, got ${result.problem.code}: ${result.problem.detail}`);
  return result;
}

function refused(result: DisclosureResult): RefusedDisclosure {
  if (result.outcome === 'granted') throw new Error('expected a refusal, got a grant');
  return result;
}

describe('the disclosure service (the one intake of both doors)', () => {
  let events: string[];
  let graph: FakeGraph;
  let audit: MemoryAuditSink;
  let policy: DisclosurePolicy;
  const ann = user('ann@contoso.com');
  const laptop = device({ displayName: 'LAPTOP-ANN', registeredOwners: [{ id: ann.id, userPrincipalName: ann.userPrincipalName }] });
  const osKey = recoveryKey(laptop.deviceId, { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab' });
  const password = fakeRecoveryPassword();
  const input = {
    deviceName: 'LAPTOP-ANN',
    keyId: '1A2B3C4D',
    ticket: 'INC0012345',
    reason: 'forgotten_pin',
    requesterUpn: 'ann@contoso.com',
    agentUpn: 'agent@contoso.com',
  };

  beforeEach(() => {
    events = [];
    graph = new FakeGraph({ devices: [laptop], users: [ann], intune: {}, keys: [osKey], passwords: { [osKey.id]: password } }, events);
    audit = new MemoryAuditSink(events);
    policy = { ...basePolicy };
  });

  const attempt = (raw: unknown, overrides: Partial<DisclosureAttempt> = {}): DisclosureAttempt => ({
    door: 'api',
    caller,
    requestId: 'req-1',
    callerRequestId: 'INC0012345-call-7',
    input: raw,
    inputLocation: 'body',
    log: pino({ level: 'silent' }),
    ...overrides,
  });
  const service = () => createDisclosureService({ graph, audit, policy, newId: randomUUID });
  const disclose = (overrides: Record<string, unknown> = {}) => service().disclose(attempt({ ...input, ...overrides }));

  it('audits the intent durably before reading the key, and the grant after, under one disclosureId', async () => {
    const result = granted(await disclose());
    expect(result.recoveryKey.key).toBe(password);
    expect(events.filter((e) => e.startsWith('audit') || e.includes('readRecoveryPassword'))).toEqual([
      'audit:disclosure_intent:pending',
      `graph:readRecoveryPassword ${osKey.id}`,
      'audit:disclosure:granted',
    ]);
    const [intent, outcome] = audit.records;
    expect(intent!.disclosureId).toBe(result.disclosureId);
    expect(outcome!.disclosureId).toBe(result.disclosureId);
    expect(outcome!.id).toBe(result.auditRecordId);
    expect(outcome!.graphRequestId).toBe(`graph-${intent!.graphClientRequestId}`);
    expect(outcome).toMatchObject({
      door: 'api',
      callerRequestId: 'INC0012345-call-7',
      recoveryKeyId: osKey.id,
      ticket: 'INC0012345',
      requesterUpn: 'ann@contoso.com',
      agentUpn: 'agent@contoso.com',
      device: { deviceId: laptop.deviceId, displayName: 'LAPTOP-ANN' },
      checks: { ticket: true, reason: true, deviceResolved: true, deviceEnabled: 'passed', keyIdMatched: true, requester: 'passed', requesterMatchedAs: 'registered_owner', requesterEnabled: 'passed' },
      caller,
    });
    expect(result.checks).toEqual(outcome!.checks);
    expect(result.warnings).toEqual([]);
  });

  it('never writes the recovery password into an audit record', async () => {
    await disclose();
    expect(JSON.stringify(audit.records)).not.toContain(password);
  });

  it('reads the key of the matched volume only, once', async () => {
    const dataKey = recoveryKey(laptop.deviceId, { id: '9f8e7d6c-2222-4ccc-9ddd-ba9876543210', volumeType: 'fixedDataVolume' });
    graph.directory.keys.push(dataKey);
    graph.directory.passwords[dataKey.id] = fakeRecoveryPassword();
    const result = granted(await disclose({ keyId: '9f8e7d6c' }));
    expect(result.recoveryKey.id).toBe(dataKey.id);
    expect(graph.calls.filter((c) => c.startsWith('readRecoveryPassword'))).toEqual([`readRecoveryPassword ${dataKey.id}`]);
  });

  it('uses three sequential steps of Graph calls: the device, then keys, Intune and the requester together, then the key', async () => {
    await disclose();
    expect(graph.calls).toEqual([
      'findDevicesByName LAPTOP-ANN',
      `listRecoveryKeys ${laptop.deviceId}`,
      `getIntuneRecord ${laptop.deviceId}`,
      'findUserByUpn ann@contoso.com',
      `readRecoveryPassword ${osKey.id}`,
    ]);
  });

  it.each([
    ['invalid_ticket', { ticket: 'see chat' }],
    ['comment_required', { reason: 'other' }],
    ['invalid_request', { deviceId: '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f' }],
    ['invalid_request', { keyId: '1a2b-3c4' }],
    ['invalid_request', { reason: 'bored' }],
    ['device_not_found', { deviceName: 'LAPTOP-NOBODY' }],
    ['key_id_mismatch', { keyId: 'deadbeef' }],
    ['requester_not_owner', { requesterUpn: 'mallory@contoso.com' }],
  ])('refuses with %s, records the refusal with its disclosureId and reads no key', async (code, overrides) => {
    const result = refused(await disclose(overrides));
    expect(result.problem.code).toBe(code);
    expect(graph.calls.some((c) => c.startsWith('readRecoveryPassword'))).toBe(false);
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ action: 'disclosure', outcome: 'refused', code, door: 'api', disclosureId: result.disclosureId });
    expect(result.problem.extensions).toMatchObject({ disclosureId: result.disclosureId, auditRecordId: audit.records[0]!.id });
  });

  it('checks the schema before any Graph call, naming every member that is wrong', async () => {
    const result = refused(await service().disclose(attempt({ devicename: 'LAPTOP-ANN', deviceName: 'LAPTOP-ANN', deviceId: '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f', keyId: '12', ticket: 'INC1', reason: 'bored', requesterUpn: 'ann@contoso.com' })));
    expect(graph.calls).toEqual([]);
    const errors = result.problem.extensions.errors as { location: string; path: string; message: string }[];
    expect(errors).toEqual(
      expect.arrayContaining([
        { location: 'body', path: '/devicename', message: 'is not a known property; did you mean "deviceName"?' },
        { location: 'body', path: '/reason', message: 'must be one of: forgotten_pin, tpm_or_firmware_change, boot_configuration_change, hardware_change, os_update, other' },
        expect.objectContaining({ path: '/keyId' }),
        { location: 'body', path: '/', message: 'may name at most one of deviceName or deviceId' },
      ]),
    );
    expect(JSON.stringify(errors)).not.toMatch(/\^|\$\)|\[0-9/);
    // Nothing of a body that failed its schema is kept, but the attempt is.
    expect(audit.records[0]).toMatchObject({ code: 'invalid_request', ticket: null, requesterUpn: null, keyIdInput: null });
  });

  it('records which checks had passed when it refused, and hands back what it resolved', async () => {
    const result = refused(await disclose({ requesterUpn: 'mallory@contoso.com' }));
    expect(audit.records[0]!.checks).toEqual({ ticket: true, reason: true, deviceResolved: true, deviceEnabled: 'passed', keyIdMatched: true, requester: 'failed', requesterMatchedAs: null, requesterEnabled: null });
    expect(audit.records[0]!.recoveryKeyId).toBe(osKey.id);
    expect(result.resolved.device?.deviceId).toBe(laptop.deviceId);
    expect(result.resolved.recoveryKeys).toEqual([osKey]);
    expect(result.resolved.matchedKey).toEqual(osKey);
  });

  it('refuses ambiguous names (with the candidates) and says key_not_found for devices without keys', async () => {
    graph.directory.devices.push(device({ displayName: 'LAPTOP-ANN' }));
    const ambiguous = refused(await disclose());
    expect(ambiguous.problem.code).toBe('ambiguous_device');
    expect(ambiguous.problem.extensions.candidates).toHaveLength(2);
    graph.directory.devices.splice(1);
    graph.directory.keys.length = 0;
    expect(refused(await disclose()).problem.code).toBe('key_not_found');
    expect(audit.records.map((r) => r.code)).toEqual(['ambiguous_device', 'key_not_found']);
  });

  it('discloses by device ID too', async () => {
    const result = granted(await service().disclose(attempt({ ...input, deviceName: undefined, deviceId: laptop.deviceId })));
    expect(result.device.deviceId).toBe(laptop.deviceId);
    expect(graph.calls[0]).toBe(`getDevice ${laptop.deviceId}`);
  });

  describe('disabled accounts', () => {
    it('refuses a disabled device right after resolving it, before its keys are listed', async () => {
      laptop.accountEnabled = false;
      try {
        const result = refused(await disclose());
        expect(result.problem.code).toBe('device_disabled');
        expect(result.problem.status).toBe(422);
        expect(graph.calls).toEqual(['findDevicesByName LAPTOP-ANN']);
        expect(audit.records[0]).toMatchObject({ code: 'device_disabled', checks: { deviceResolved: true, deviceEnabled: 'failed', keyIdMatched: null } });
      } finally {
        laptop.accountEnabled = true;
      }
    });

    it('discloses a disabled device under DISABLED_DEVICE_CHECK=warn, with a warning in the result and the record', async () => {
      laptop.accountEnabled = false;
      policy.disabledDeviceCheck = 'warn';
      try {
        const result = granted(await disclose());
        expect(result.checks.deviceEnabled).toBe('warned');
        expect(result.warnings.map((w) => w.code)).toEqual(['device_disabled']);
        expect(audit.records.at(-1)).toMatchObject({ outcome: 'granted', checks: { deviceEnabled: 'warned' } });
      } finally {
        laptop.accountEnabled = true;
      }
    });

    it('refuses a requester who owns the device but whose account is disabled (a leaver)', async () => {
      graph.directory.users = [user('ann@contoso.com', { id: ann.id, accountEnabled: false })];
      const result = refused(await disclose());
      expect(result.problem.code).toBe('requester_disabled');
      expect(result.problem.detail).toContain('ann@contoso.com');
      expect(audit.records[0]).toMatchObject({ code: 'requester_disabled', checks: { requester: 'passed', requesterMatchedAs: 'registered_owner', requesterEnabled: 'failed' } });
    });

    it('refuses a disabled Intune primary user too', async () => {
      const leaver = user('leo@contoso.com', { accountEnabled: false });
      graph.directory.users = [ann, leaver];
      graph.directory.intune[laptop.deviceId] = { managedDeviceId: 'm1', deviceName: 'LAPTOP-ANN', primaryUserUpn: 'leo@contoso.com', primaryUserId: leaver.id, lastSyncDateTime: null };
      try {
        const result = refused(await disclose({ requesterUpn: 'leo@contoso.com' }));
        expect(result.problem.code).toBe('requester_disabled');
        expect(result.checks).toMatchObject({ requesterMatchedAs: 'primary_user', requesterEnabled: 'failed' });
      } finally {
        delete graph.directory.intune[laptop.deviceId];
      }
    });

    it('discloses to a disabled requester under DISABLED_REQUESTER_CHECK=warn, saying so', async () => {
      graph.directory.users = [user('ann@contoso.com', { accountEnabled: false })];
      policy.disabledRequesterCheck = 'warn';
      const result = granted(await disclose());
      expect(result.checks.requesterEnabled).toBe('warned');
      expect(result.warnings.map((w) => w.code)).toEqual(['requester_disabled']);
    });
  });

  it('discloses in warn mode and records the requester mismatch, with a warning', async () => {
    policy.requesterCheck = 'warn';
    graph.directory.users = [ann, user('mallory@contoso.com')];
    const result = granted(await disclose({ requesterUpn: 'mallory@contoso.com' }));
    expect(result.checks).toMatchObject({ requester: 'warned', requesterMatchedAs: null, requesterEnabled: 'passed' });
    expect(result.warnings[0]!.detail).toContain('REQUESTER_CHECK=warn');
    expect(audit.records.at(-1)).toMatchObject({ outcome: 'granted', checks: { requester: 'warned' } });
  });

  it('skips the ownership check under REQUESTER_CHECK=off, but still refuses a disabled requester', async () => {
    policy.requesterCheck = 'off';
    const result = granted(await disclose({ requesterUpn: 'mallory@contoso.com' }));
    expect(result.checks).toMatchObject({ requester: 'skipped', requesterEnabled: 'skipped' });
    graph.directory.users = [user('mallory@contoso.com', { accountEnabled: false })];
    const leaver = refused(await disclose({ requesterUpn: 'mallory@contoso.com' }));
    expect(leaver.problem.code).toBe('requester_disabled');
    expect(leaver.checks).toMatchObject({ requester: 'skipped', requesterEnabled: 'failed' });
  });

  it('refuses a disabled requester who does not own the device under REQUESTER_CHECK=warn', async () => {
    policy.requesterCheck = 'warn';
    graph.directory.users = [ann, user('leaver@contoso.com', { accountEnabled: false })];
    expect(refused(await disclose({ requesterUpn: 'leaver@contoso.com' })).problem.code).toBe('requester_disabled');
  });

  it('reads no key when the intent cannot be audited', async () => {
    audit.failingAppends = new Set([1]);
    expect(refused(await disclose()).problem.code).toBe('audit_unavailable');
    expect(graph.calls.some((c) => c.startsWith('readRecoveryPassword'))).toBe(false);
  });

  it('withholds the key it read when the outcome cannot be audited', async () => {
    audit.failingAppends = new Set([2]);
    const result = refused(await disclose());
    expect(result.problem.code).toBe('audit_unavailable');
    expect(JSON.stringify(result)).not.toContain(password);
    expect(audit.records.map((r) => r.action)).toEqual(['disclosure_intent']);
  });

  it('answers audit_unavailable, not the refusal, when a refusal cannot be audited', async () => {
    audit.failingAppends = new Set([1]);
    expect(refused(await disclose({ keyId: 'deadbeef' })).problem.code).toBe('audit_unavailable');
  });

  it('records a failed outcome when Graph fails during the key read', async () => {
    graph.readRecoveryPassword = async () => {
      throw new KeyDeskProblem('graph_unavailable', 'throttled');
    };
    const result = refused(await disclose());
    expect(result.outcome).toBe('failed');
    expect(result.problem.code).toBe('graph_unavailable');
    expect(audit.records.map((r) => `${r.action}:${r.outcome}:${r.code}`)).toEqual(['disclosure_intent:pending:null', 'disclosure:failed:graph_unavailable']);
  });

  it('records a bug as a failed attempt (internal_error) rather than losing it', async () => {
    graph.listRecoveryKeys = async () => {
      throw new TypeError('boom');
    };
    const result = refused(await disclose());
    expect(result.problem.code).toBe('internal_error');
    expect(audit.records[0]).toMatchObject({ outcome: 'failed', code: 'internal_error' });
  });

  describe('refuse (a refusal raised by a door before the rules)', () => {
    it('records it in the same shape, keeping the input only when it fits the contract', async () => {
      const problem = new KeyDeskProblem('rate_limited', 'slow down');
      const kept = await service().refuse(attempt({ ...input }, { door: 'web', inputLocation: 'form', namedDeviceId: laptop.deviceId }), problem);
      const dropped = await service().refuse(attempt({ ...input, ticket: 42 }, { door: 'web', inputLocation: 'form', namedDeviceId: laptop.deviceId }), problem);
      expect(audit.records[0]).toMatchObject({ door: 'web', outcome: 'refused', code: 'rate_limited', ticket: 'INC0012345', disclosureId: kept.disclosureId, device: { deviceId: laptop.deviceId, displayName: 'LAPTOP-ANN' } });
      expect(audit.records[1]).toMatchObject({ door: 'web', code: 'rate_limited', ticket: null, device: { deviceId: laptop.deviceId } });
      expect(dropped.problem.extensions).toMatchObject({ disclosureId: dropped.disclosureId, auditRecordId: audit.records[1]!.id });
      expect(graph.calls).toEqual([]);
    });
  });
});
