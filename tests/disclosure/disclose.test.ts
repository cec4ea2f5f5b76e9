import { beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { DEFAULT_TICKET_PATTERN } from '../../src/config/config.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { discloseRecoveryKey, type DisclosureRequest } from '../../src/disclosure/disclose.js';
import type { AuditCaller } from '../../src/audit/types.js';
import { FakeGraph, MemoryAuditSink, device, recoveryKey } from '../helpers/fakes.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { problemOf } from '../helpers/problems.js';

const caller: AuditCaller = { kind: 'app', appId: 'app-1', oid: 'sp-1', upn: null, name: null, ip: '10.0.0.7', userAgent: 'ServiceNow' };
const policy = { requesterCheck: 'enforce' as const, ticketPattern: new RegExp(DEFAULT_TICKET_PATTERN) };

describe('discloseRecoveryKey', () => {
  let events: string[];
  let graph: FakeGraph;
  let audit: MemoryAuditSink;
  const laptop = device({ displayName: 'LAPTOP-ANN', registeredOwners: [{ id: 'u1', userPrincipalName: 'ann@contoso.com' }] });
  const osKey = recoveryKey(laptop.deviceId, { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab' });
  const password = fakeRecoveryPassword();
  const request: DisclosureRequest = {
    deviceName: 'LAPTOP-ANN',
    keyId: '1A2B3C4D',
    ticket: 'INC0012345',
    reason: 'forgotten_pin',
    requesterUpn: 'ann@contoso.com',
    agentUpn: 'agent@contoso.com',
  };

  beforeEach(() => {
    events = [];
    graph = new FakeGraph({ devices: [laptop], intune: {}, keys: [osKey], passwords: { [osKey.id]: password } }, events);
    audit = new MemoryAuditSink(events);
  });

  const disclose = (overrides: Partial<DisclosureRequest> = {}) =>
    discloseRecoveryKey({ ...request, ...overrides }, { caller, requestId: 'req-1' }, { graph, audit, policy, newId: randomUUID });

  const codeOf = async (promise: Promise<unknown>) => (await problemOf(promise)).code;

  it('audits the intent durably before reading the key, and the grant after', async () => {
    const granted = await disclose();
    expect(granted.recoveryKey.key).toBe(password);
    expect(events.filter((e) => e.startsWith('audit') || e.includes('readRecoveryPassword'))).toEqual([
      'audit:disclosure_intent:pending',
      `graph:readRecoveryPassword ${osKey.id}`,
      'audit:disclosure:granted',
    ]);
    const [intent, outcome] = audit.records;
    expect(intent!.disclosureId).toBe(granted.disclosureId);
    expect(outcome!.disclosureId).toBe(granted.disclosureId);
    expect(outcome!.id).toBe(granted.auditRecordId);
    expect(intent!.graphClientRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(outcome!.graphRequestId).toBe(`graph-${intent!.graphClientRequestId}`);
    expect(outcome).toMatchObject({
      recoveryKeyId: osKey.id,
      ticket: 'INC0012345',
      requesterUpn: 'ann@contoso.com',
      agentUpn: 'agent@contoso.com',
      device: { deviceId: laptop.deviceId, displayName: 'LAPTOP-ANN' },
      checks: { ticket: true, reason: true, deviceResolved: true, keyIdMatched: true, requester: 'passed' },
      caller,
    });
  });

  it('never writes the recovery password into an audit record', async () => {
    await disclose();
    expect(JSON.stringify(audit.records)).not.toContain(password);
  });

  it('reads the key of the matched volume only, once', async () => {
    const dataKey = recoveryKey(laptop.deviceId, { id: '9f8e7d6c-2222-4ccc-9ddd-ba9876543210', volumeType: 'fixedDataVolume' });
    graph.directory.keys.push(dataKey);
    graph.directory.passwords[dataKey.id] = fakeRecoveryPassword();
    const granted = await disclose({ keyId: '9f8e7d6c' });
    expect(granted.recoveryKey.id).toBe(dataKey.id);
    expect(graph.calls.filter((c) => c.startsWith('readRecoveryPassword'))).toEqual([`readRecoveryPassword ${dataKey.id}`]);
  });

  it('uses at most three sequential steps of Graph calls, reading the key last', async () => {
    await disclose();
    expect(graph.calls).toEqual([
      'findDevicesByName LAPTOP-ANN',
      `listRecoveryKeys ${laptop.deviceId}`,
      `getIntuneRecord ${laptop.deviceId}`,
      `readRecoveryPassword ${osKey.id}`,
    ]);
  });

  it.each([
    ['invalid_ticket', { ticket: 'see chat' }],
    ['comment_required', { reason: 'other' as const }],
    ['invalid_request', { deviceId: laptop.deviceId }],
    ['invalid_request', { keyId: '1a2b-3c4' }],
    ['device_not_found', { deviceName: 'LAPTOP-NOBODY' }],
    ['key_id_mismatch', { keyId: 'deadbeef' }],
    ['requester_not_owner', { requesterUpn: 'mallory@contoso.com' }],
  ])('refuses with %s, audits the refusal and reads no key', async (code, overrides) => {
    expect(await codeOf(disclose(overrides))).toBe(code);
    expect(graph.calls.some((c) => c.startsWith('readRecoveryPassword'))).toBe(false);
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ action: 'disclosure', outcome: 'refused', code });
  });

  it('records which checks had passed when it refused', async () => {
    await codeOf(disclose({ requesterUpn: 'mallory@contoso.com' }));
    expect(audit.records[0]!.checks).toEqual({ ticket: true, reason: true, deviceResolved: true, deviceEnabled: null, keyIdMatched: true, requester: 'failed', requesterMatchedAs: null, requesterEnabled: null });
    expect(audit.records[0]!.recoveryKeyId).toBe(osKey.id);
  });

  it('refuses ambiguous names and says key_not_found for devices without keys', async () => {
    graph.directory.devices.push(device({ displayName: 'LAPTOP-ANN' }));
    expect(await codeOf(disclose())).toBe('ambiguous_device');
    graph.directory.devices.splice(1);
    graph.directory.keys.length = 0;
    expect(await codeOf(disclose())).toBe('key_not_found');
    expect(audit.records.map((r) => r.code)).toEqual(['ambiguous_device', 'key_not_found']);
  });

  it('discloses by device ID too', async () => {
    const granted = await disclose({ deviceName: undefined, deviceId: laptop.deviceId });
    expect(granted.device.deviceId).toBe(laptop.deviceId);
    expect(graph.calls[0]).toBe(`getDevice ${laptop.deviceId}`);
  });

  it('discloses in warn mode and records the requester mismatch', async () => {
    const granted = await discloseRecoveryKey(
      { ...request, requesterUpn: 'mallory@contoso.com' },
      { caller, requestId: 'req-1' },
      { graph, audit, policy: { ...policy, requesterCheck: 'warn' }, newId: randomUUID },
    );
    expect(granted.requester.verdict).toBe('warned');
    expect(audit.records.at(-1)).toMatchObject({ outcome: 'granted', checks: { requester: 'warned' } });
  });

  it('reads no key when the intent cannot be audited', async () => {
    audit.failingAppends = new Set([1]);
    expect(await codeOf(disclose())).toBe('audit_unavailable');
    expect(graph.calls.some((c) => c.startsWith('readRecoveryPassword'))).toBe(false);
  });

  it('withholds the key it read when the outcome cannot be audited', async () => {
    audit.failingAppends = new Set([2]);
    let result: unknown;
    let failure: unknown;
    try {
      result = await disclose();
    } catch (error) {
      failure = error;
    }
    expect(result).toBeUndefined();
    expect((failure as KeyDeskProblem).code).toBe('audit_unavailable');
    expect(JSON.stringify(failure)).not.toContain(password);
    expect(audit.records.map((r) => r.action)).toEqual(['disclosure_intent']);
  });

  it('answers audit_unavailable, not the refusal, when a refusal cannot be audited', async () => {
    audit.failingAppends = new Set([1]);
    expect(await codeOf(disclose({ keyId: 'deadbeef' }))).toBe('audit_unavailable');
  });

  it('records a failed outcome when Graph fails during the key read', async () => {
    const realRead = graph.readRecoveryPassword.bind(graph);
    graph.readRecoveryPassword = async () => {
      throw new KeyDeskProblem('graph_unavailable', 'throttled');
    };
    expect(await codeOf(disclose())).toBe('graph_unavailable');
    expect(audit.records.map((r) => `${r.action}:${r.outcome}:${r.code}`)).toEqual([
      'disclosure_intent:pending:null',
      'disclosure:failed:graph_unavailable',
    ]);
    graph.readRecoveryPassword = realRead;
  });
});
