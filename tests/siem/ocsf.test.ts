import { describe, expect, it } from 'vitest';
import { passwordShapedPaths } from '../../src/disclosure/password-shaped.js';
import { OCSF_VERSION, PASSWORD_SHAPED_REPLACEMENT, toOcsf } from '../../src/siem/ocsf.js';
import { KEYDESK_VERSION } from '../../src/version.js';
import { FIXTURES, plantPasswords } from './fixtures.js';

describe('OCSF mapping of audit records', () => {
  it('maps a granted disclosure to Entity Management: Read with the recovery key as the entity, by its key ID', () => {
    const record = FIXTURES.disclosure_granted;
    const event = toOcsf(record);
    expect(event).toMatchObject({
      class_uid: 3004,
      class_name: 'Entity Management',
      category_uid: 3,
      activity_id: 2,
      activity_name: 'Read',
      type_uid: 300402,
      time: Date.parse(record.time),
      status_id: 1,
      status: 'Success',
      entity: { uid: record.recoveryKeyId, type: 'BitLocker recovery key', device: { uid: record.device!.deviceId, name: 'LAPTOP-7QK2M4' } },
      actor: { user: { uid: record.caller!.oid, name: 'ann.helpdesk@contoso.com' }, app_uid: record.caller!.appId },
      src_endpoint: { ip: '10.20.30.40' },
      metadata: {
        uid: record.id,
        sequence: record.seq,
        correlation_uid: record.disclosureId,
        version: OCSF_VERSION,
        product: { name: 'KeyDesk', vendor_name: 'KeyDesk', version: KEYDESK_VERSION },
      },
      unmapped: { hash: record.hash, prevHash: record.prevHash, hashAlg: 'hmac-sha256', ticket: 'INC0012345', requesterUpn: 'bob.employee@contoso.com' },
    });
    expect(event.message).toBe(`ann.helpdesk@contoso.com was given the recovery key ${record.recoveryKeyId} of LAPTOP-7QK2M4 for bob.employee@contoso.com under ticket INC0012345`);
  });

  it('links the intent and the outcome of one disclosure by metadata.correlation_uid, the intent as pending', () => {
    const intent = toOcsf(FIXTURES.disclosure_intent);
    const outcome = toOcsf(FIXTURES.disclosure_granted);
    expect(intent.metadata.correlation_uid).toBe(outcome.metadata.correlation_uid);
    expect(intent).toMatchObject({ type_uid: 300402, status_id: 99, status: 'Pending', metadata: { event_code: 'disclosure_intent' } });
    expect(outcome.metadata.event_code).toBe('disclosure');
  });

  it('gives a refusal its code and the code table\'s title, at a higher severity, with the app and the agent it named as the actor', () => {
    const event = toOcsf(FIXTURES.disclosure_refused);
    expect(event).toMatchObject({
      status_id: 2,
      status: 'Failure',
      status_code: 'requester_not_owner',
      status_detail: 'The requester is not an owner or primary user of the device',
      severity_id: 3,
      severity: 'Medium',
      actor: { user: { name: 'carl.helpdesk@contoso.com' }, app_uid: FIXTURES.disclosure_refused.caller!.appId, app_name: 'ServiceNow KeyDesk integration' },
    });
  });

  it('maps sign-ins to Authentication: Logon and sign-outs to Logoff', () => {
    expect(toOcsf(FIXTURES.sign_in_granted)).toMatchObject({ class_uid: 3002, type_uid: 300201, activity_name: 'Logon', status_id: 1, user: { name: 'ann.helpdesk@contoso.com' } });
    expect(toOcsf(FIXTURES.sign_in_refused)).toMatchObject({ class_uid: 3002, type_uid: 300201, status_id: 2, status_code: 'forbidden', severity_id: 3, user: { name: 'eve@contoso.com' } });
    expect(toOcsf(FIXTURES.sign_out)).toMatchObject({ class_uid: 3002, type_uid: 300202, activity_name: 'Logoff' });
  });

  it('maps alerts and out-of-band reads to Detection Findings naming the rule, at high severity', () => {
    expect(toOcsf(FIXTURES.alert)).toMatchObject({
      class_uid: 2004,
      type_uid: 200401,
      severity_id: 4,
      is_alert: true,
      finding_info: { uid: FIXTURES.alert.id, title: 'The recovery key of LAPTOP-7QK2M4 was disclosed again within 24 hours', analytic: { name: 'repeat_device', type_id: 1 } },
      device: { name: 'LAPTOP-7QK2M4' },
      metadata: { correlation_uid: FIXTURES.alert.disclosureId },
    });
    expect(toOcsf(FIXTURES.out_of_band_read)).toMatchObject({
      class_uid: 2004,
      finding_info: { analytic: { name: 'out_of_band_read' }, uid_alt: 'Directory_4b1f0e2d-9c8a-4e7b-a6f5-3d2c1b0a9e8f' },
      resources: [{ uid: FIXTURES.out_of_band_read.recoveryKeyId }],
    });
  });

  it('maps audit queries and exports to API Activity and a recovered chain to Application Error', () => {
    expect(toOcsf(FIXTURES.audit_query)).toMatchObject({ class_uid: 6003, type_uid: 600302, api: { operation: 'audit_query' }, message: 'sue.auditor@contoso.com queried the audit trail (3 records)' });
    expect(toOcsf(FIXTURES.audit_export)).toMatchObject({ class_uid: 6003, api: { operation: 'audit_export' }, unmapped: { details: { format: 'csv', rowCount: 1204 } } });
    expect(toOcsf(FIXTURES.chain_recovered)).toMatchObject({ class_uid: 6008, type_uid: 600801, severity_id: 3, unmapped: { details: { lastGoodSeq: 10482 } } });
  });

  it('leaves out what a record does not know instead of sending nulls', () => {
    const text = JSON.stringify(toOcsf(FIXTURES.chain_recovered));
    expect(text).not.toContain('null');
    expect(toOcsf(FIXTURES.chain_recovered)).not.toHaveProperty('actor');
  });

  it("keeps the first record's prevHash of 64 zeros, so a SIEM can rebuild the chain from seq 1", () => {
    const first = { ...FIXTURES.disclosure_granted, seq: 1, prevHash: '0'.repeat(64) };
    expect(toOcsf(first).unmapped).toMatchObject({ prevHash: '0'.repeat(64), hash: first.hash });
  });

  it('never holds a value shaped like a recovery password, even when one was planted in every text of a record', () => {
    for (const record of Object.values(FIXTURES)) {
      expect(passwordShapedPaths(toOcsf(record))).toEqual([]);
      const planted = plantPasswords(record);
      const event = toOcsf(planted);
      expect(passwordShapedPaths(event)).toEqual([]);
      expect(JSON.stringify(event)).toContain(PASSWORD_SHAPED_REPLACEMENT);
    }
  });
});
