import { auditEntry } from '../../src/audit/entry.js';
import type { AuditEntry, AuditRecord } from '../../src/audit/types.js';
import { alertEntry } from '../../src/alerts/alert-entry.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

/**
 * One audit record of each kind, as the stores write them: docs/events.md shows what the mapper
 * makes of each (tests/siem/events-doc.test.ts keeps the two in step). No recovery password here.
 */

const DISCLOSURE_ID = '5c0a7e51-8f8d-4a55-9c7e-0f3e3b1f2a61';
const KEY_ID = '8a3f1c2e-5b7d-4e9a-a1c3-6d2f0b4e8c17';
const DEVICE = { id: '0f4b2c8e-3d1a-4e6b-9a7c-5e8d2f1b3c40', deviceId: 'c3e8a1f4-7b2d-4c9e-8f6a-1d0b5e3c7a92', displayName: 'LAPTOP-7QK2M4' };
const AGENT = { kind: 'user' as const, appId: '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43', oid: '6e1d9b3a-2c4f-4a8e-b7d5-0f9c3e2a1b68', upn: 'ann.helpdesk@contoso.com', name: 'Ann Helpdesk', ip: '10.20.30.40', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)' };
const APP = { kind: 'app' as const, appId: '9d4c2b1a-8e7f-4a6b-b5c3-2e1d0f9a8b7c', oid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', upn: null, name: 'ServiceNow KeyDesk integration', ip: '10.1.2.3', userAgent: 'ServiceNow/1.0' };

const DISCLOSURE = {
  door: 'web' as const,
  disclosureId: DISCLOSURE_ID,
  requestId: 'req-1f3a',
  callerRequestId: null,
  caller: AGENT,
  agentUpn: AGENT.upn,
  requesterUpn: 'bob.employee@contoso.com',
  ticket: 'INC0012345',
  reason: 'locked_out',
  comment: null,
  device: DEVICE,
  keyIdInput: '8A3F1C2E',
};

const GRANTED_CHECKS = { ticket: true, reason: true, deviceResolved: true, deviceEnabled: 'passed', keyIdMatched: true, requester: 'passed', requesterMatchedAs: 'registered_owner', requesterEnabled: 'passed' } as const;

let seq = 0;
function sealed(entry: AuditEntry, id: string, time: string): AuditRecord {
  seq += 1;
  const hash = (n: number) => `${n.toString(16).padStart(2, '0')}ce`.repeat(16);
  return { seq, id, time, ...entry, hashAlg: 'hmac-sha256', prevHash: hash(seq - 1), hash: hash(seq) };
}

export const FIXTURES = {
  disclosure_intent: sealed(
    auditEntry({ action: 'disclosure_intent', outcome: 'pending', code: null, ...DISCLOSURE, recoveryKeyId: KEY_ID, checks: GRANTED_CHECKS, graphClientRequestId: 'b7e2c9a4-1d3f-4e8b-a6c5-9f0e2d1b3a47' }),
    'f1a2b3c4-0001-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-02T09:14:07.412Z',
  ),
  disclosure_granted: sealed(
    auditEntry({ action: 'disclosure', outcome: 'granted', code: null, ...DISCLOSURE, recoveryKeyId: KEY_ID, checks: GRANTED_CHECKS, graphClientRequestId: 'b7e2c9a4-1d3f-4e8b-a6c5-9f0e2d1b3a47', graphRequestId: 'e4d3c2b1-a0f9-4e8d-b7c6-a5b4c3d2e1f0' }),
    'f1a2b3c4-0002-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-02T09:14:07.986Z',
  ),
  disclosure_refused: sealed(
    auditEntry({
      action: 'disclosure',
      outcome: 'refused',
      code: 'requester_not_owner',
      ...DISCLOSURE,
      door: 'api',
      disclosureId: '7d2e4f6a-8b0c-4d1e-9f3a-5b7c9d1e3f50',
      caller: APP,
      agentUpn: 'carl.helpdesk@contoso.com',
      requesterUpn: 'mallory@contoso.com',
      recoveryKeyId: KEY_ID,
      checks: { ...GRANTED_CHECKS, requester: 'failed', requesterMatchedAs: null, requesterEnabled: null },
    }),
    'f1a2b3c4-0003-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-02T10:02:51.230Z',
  ),
  sign_in_granted: sealed(
    auditEntry({ action: 'sign_in', outcome: 'granted', code: null, requestId: 'req-2b7c', caller: AGENT, details: { roles: ['BitLocker.Disclose'], authTime: '2026-11-02T09:12:55.000Z', acrs: ['c1'], maxAge: null, authContext: 'c1' } }),
    'f1a2b3c4-0004-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-02T09:12:58.104Z',
  ),
  sign_in_refused: sealed(
    auditEntry({ action: 'sign_in', outcome: 'refused', code: 'forbidden', requestId: 'req-3c8d', caller: { ...AGENT, upn: 'eve@contoso.com', name: 'Eve', oid: '2f3e4d5c-6b7a-4988-a7b6-c5d4e3f2a1b0' }, details: { returnTo: '/' } }),
    'f1a2b3c4-0005-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-02T11:40:12.560Z',
  ),
  sign_out: sealed(auditEntry({ action: 'sign_out', outcome: 'granted', code: null, requestId: 'req-4d9e', caller: AGENT }), 'f1a2b3c4-0006-4a5b-8c6d-7e8f9a0b1c2d', '2026-11-02T09:20:33.018Z'),
  audit_query: sealed(
    auditEntry({ action: 'audit_query', outcome: 'granted', code: null, requestId: 'req-5e0f', caller: { ...AGENT, upn: 'sue.auditor@contoso.com', name: 'Sue Auditor' }, details: { filters: { deviceName: 'LAPTOP-7QK2M4', from: '2026-10-01T00:00:00.000Z' }, rowCount: 3 } }),
    'f1a2b3c4-0007-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-03T08:05:41.777Z',
  ),
  audit_export: sealed(
    auditEntry({ action: 'audit_export', outcome: 'granted', code: null, requestId: 'req-6f1a', caller: { ...AGENT, upn: 'sue.auditor@contoso.com', name: 'Sue Auditor' }, details: { filters: {}, format: 'csv', rowCount: 1204 } }),
    'f1a2b3c4-0008-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-03T08:07:02.311Z',
  ),
  alert: sealed(
    alertEntry({
      rule: 'repeat_device',
      subject: `device:${DEVICE.deviceId}`,
      summary: 'The recovery key of LAPTOP-7QK2M4 was disclosed again within 24 hours',
      details: { windowHours: 24, disclosures: 2 },
      related: { disclosureId: DISCLOSURE_ID, caller: AGENT, agentUpn: AGENT.upn, requesterUpn: 'bob.employee@contoso.com', device: DEVICE, recoveryKeyId: KEY_ID, door: 'web' },
    }),
    'f1a2b3c4-0009-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-02T09:14:08.020Z',
  ),
  out_of_band_read: sealed(
    auditEntry({
      action: 'out_of_band_read',
      outcome: 'observed',
      code: null,
      device: DEVICE,
      recoveryKeyId: KEY_ID,
      details: { entraEventId: 'Directory_4b1f0e2d-9c8a-4e7b-a6f5-3d2c1b0a9e8f', activityDateTime: '2026-11-04T22:31:09.000Z', initiatedBy: { user: { userPrincipalName: 'admin@contoso.com' } } },
    }),
    'f1a2b3c4-0010-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-04T22:45:00.125Z',
  ),
  chain_recovered: sealed(
    auditEntry({ action: 'chain_recovered', outcome: 'recovered', code: null, details: { tornFile: 'audit.jsonl.torn-20261105T061502Z', tornBytes: 187, lastGoodSeq: 10482 } }),
    'f1a2b3c4-0011-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-05T06:15:02.640Z',
  ),
  key_index_sync: sealed(
    auditEntry({ action: 'key_index_sync', outcome: 'granted', code: null, requestId: 'req-7a2b', caller: { ...AGENT, upn: 'sue.auditor@contoso.com', name: 'Sue Auditor' }, details: { status: 'started' } }),
    'f1a2b3c4-0012-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-05T08:09:12.500Z',
  ),
  rotation: sealed(
    auditEntry({
      action: 'rotation',
      outcome: 'done',
      code: null,
      disclosureId: DISCLOSURE_ID,
      device: DEVICE,
      recoveryKeyId: KEY_ID,
      details: {
        rotationId: '9d3c1b2a-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
        managedDeviceId: 'c3e8a1f4-2b7d-4e9a-8c5f-6d0b1a2e3f4c',
        newRecoveryKeyId: '7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928',
        deadline: '2026-11-08T09:20:00.000Z',
      },
    }),
    'f1a2b3c4-0013-4a5b-8c6d-7e8f9a0b1c2d',
    '2026-11-05T09:41:30.250Z',
  ),
} satisfies Record<string, AuditRecord>;

export type FixtureName = keyof typeof FIXTURES;

/** The product version the documented examples show, so a release does not change them. */
export const DOCUMENTED_PRODUCT_VERSION = '0.1.0';
export const DOCUMENTED_TENANT = '7f9c3a52-1c4e-4b7a-9d0e-2f5b8c6a1d34';

/** The record with every string (and a detail's name) replaced by a fresh recovery-password-shaped value. */
export function plantPasswords(record: AuditRecord): AuditRecord {
  const plant = (value: unknown): unknown => {
    if (typeof value === 'string') return fakeRecoveryPassword();
    if (Array.isArray(value)) return value.map(plant);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([name, member]) => [name, plant(member)]));
    return value;
  };
  const planted = plant({ ...record, time: undefined }) as AuditRecord;
  return {
    ...planted,
    action: record.action,
    outcome: record.outcome,
    hashAlg: record.hashAlg,
    time: record.time,
    details: { ...(planted.details ?? {}), [fakeRecoveryPassword()]: fakeRecoveryPassword(), summary: `key ${fakeRecoveryPassword()}` },
  };
}
