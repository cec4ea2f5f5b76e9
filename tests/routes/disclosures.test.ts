import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { CALLER_APP_ID, STAFF_CLIENT_ID, issueAppToken, issueUserToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { mockTokenEndpoint } from '../helpers/graph-fixtures.js';
import { mockGraphTenant, tenantDevice, user, type MockTenant, type TenantKey } from '../helpers/graph-tenant.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { MemoryAuditSink } from '../helpers/fakes.js';

const ann = user('ann.lee@contoso.com');
const bob = user('bob@contoso.com');

describe('POST /api/v1/disclosures', () => {
  let signingKey: SigningKey;
  let harness: Harness;
  let tenant: MockTenant;
  let token: string;
  let laptop: ReturnType<typeof tenantDevice>;
  let osKey: TenantKey;
  let dataKey: TenantKey;

  beforeAll(async () => {
    signingKey = await makeSigningKey();
  });

  beforeEach(async () => {
    nock.disableNetConnect();
    mockEntraDiscovery([signingKey]);
    mockTokenEndpoint({ times: 50 });
    laptop = tenantDevice('LAPTOP-ANN', [ann], { primaryUserUpn: bob.userPrincipalName });
    osKey = { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab', deviceId: laptop.deviceId, volumeType: '1', createdDateTime: '2026-01-11T10:00:00Z', key: fakeRecoveryPassword() };
    dataKey = { id: '9f8e7d6c-2222-4ccc-9ddd-ba9876543210', deviceId: laptop.deviceId, volumeType: '2', createdDateTime: '2026-02-01T10:00:00Z', key: fakeRecoveryPassword() };
    const twins = [tenantDevice('LAPTOP-SHARED', [ann]), tenantDevice('LAPTOP-SHARED', [bob])];
    const keyless = tenantDevice('DESKTOP-NOKEY', [ann]);
    tenant = mockGraphTenant([laptop, ...twins, keyless], [osKey, dataKey]);
    token = await issueAppToken(signingKey, { roles: ['BitLocker.Disclose'] });
    harness = await buildHarness('disclosures');
  });

  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const body = (overrides: Record<string, unknown> = {}) => ({
    deviceName: 'LAPTOP-ANN',
    keyId: '1A2B3C4D',
    ticket: 'INC0012345',
    reason: 'forgotten_pin',
    requesterUpn: ann.userPrincipalName,
    agentUpn: 'sam.agent@contoso.com',
    ...overrides,
  });

  const disclose = (payload: object, bearer = token, headers: Record<string, string> = {}) =>
    harness.inject({ method: 'POST', url: '/api/v1/disclosures', headers: { authorization: `Bearer ${bearer}`, ...headers }, payload });

  it('discloses the recovery password of the matched key, with the checks and an audit record id', async () => {
    const response = await disclose(body());
    expect(response.statusCode).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const json = response.json();
    expect(json).toMatchObject({
      device: { deviceId: laptop.deviceId, displayName: 'LAPTOP-ANN', accountEnabled: true, registeredOwners: [{ userPrincipalName: ann.userPrincipalName }] },
      recoveryKey: { id: osKey.id, volumeType: 'operatingSystemVolume', createdDateTime: osKey.createdDateTime },
      checks: { ticket: true, reason: true, deviceResolved: true, deviceEnabled: 'passed', keyIdMatched: true, requester: 'passed', requesterMatchedAs: 'registered_owner', requesterEnabled: 'passed' },
      warnings: [],
    });
    expect(json.recoveryKey.key).toBe(osKey.key);

    const records = harness.auditRecords();
    expect(records.map((r) => `${r.action}:${r.outcome}`)).toEqual(['disclosure_intent:pending', 'disclosure:granted']);
    expect(records[1]!.id).toBe(json.auditRecordId);
    expect(records.every((r) => r.disclosureId === json.disclosureId)).toBe(true);
    expect(records[1]).toMatchObject({
      caller: { kind: 'app', appId: expect.any(String), ip: '127.0.0.1' },
      agentUpn: 'sam.agent@contoso.com',
      requesterUpn: ann.userPrincipalName,
      ticket: 'INC0012345',
      reason: 'forgotten_pin',
      device: { deviceId: laptop.deviceId, displayName: 'LAPTOP-ANN' },
      recoveryKeyId: osKey.id,
      requestId: response.headers['x-request-id'],
      door: 'api',
    });
    expect(await verifyAuditFile(harness.auditFile, null)).toMatchObject({ ok: true, records: 2 });
  });

  it('reads exactly one key, with $select=key alone, and joins both audit trails on the request ids', async () => {
    await disclose(body({ keyId: '9F8E7D6C' }));
    const reads = tenant.keyReads();
    expect(reads).toHaveLength(1);
    expect(reads[0]!.path).toBe(`/v1.0/informationProtection/bitlocker/recoveryKeys/${dataKey.id}`);
    expect([...reads[0]!.query.keys()]).toEqual(['$select']);
    const [intent, granted] = harness.auditRecords();
    expect(reads[0]!.headers['client-request-id']).toBe(intent!.graphClientRequestId);
    expect(granted!.graphRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('makes 5 Graph requests for a cold disclosure: the device, then keys, Intune and the requester, then the key', async () => {
    await disclose(body());
    expect(tenant.requests.map((r) => r.path)).toEqual([
      '/v1.0/devices',
      '/v1.0/informationProtection/bitlocker/recoveryKeys',
      '/v1.0/deviceManagement/managedDevices',
      '/v1.0/users',
      `/v1.0/informationProtection/bitlocker/recoveryKeys/${osKey.id}`,
    ]);
    expect(tenant.requests[3]!.query.get('$select')).toBe('id,userPrincipalName,displayName,accountEnabled,mail');
  });

  it('needs only the key read for a second disclosure of the same device', async () => {
    await disclose(body());
    tenant.requests.length = 0;
    expect((await disclose(body())).statusCode).toBe(201);
    expect(tenant.requests.map((r) => r.path)).toEqual([`/v1.0/informationProtection/bitlocker/recoveryKeys/${osKey.id}`]);
  });

  describe('with key metadata cached from an earlier disclosure', () => {
    const keyList = '/v1.0/informationProtection/bitlocker/recoveryKeys';

    it('finds a key escrowed since by asking Graph for the key list once more', async () => {
      await disclose(body());
      const rotated: TenantKey = { id: '5e5e5e5e-3333-4eee-8fff-0123456789ab', deviceId: laptop.deviceId, volumeType: '1', createdDateTime: '2026-11-30T10:00:00Z', key: fakeRecoveryPassword() };
      tenant.keys.push(rotated);
      tenant.requests.length = 0;
      const response = await disclose(body({ keyId: '5E5E5E5E' }));
      expect(response.statusCode).toBe(201);
      expect(response.json().recoveryKey.id).toBe(rotated.id);
      expect(tenant.requests.map((r) => r.path)).toEqual([keyList, `${keyList}/${rotated.id}`]);
    });

    it('refuses a key ID that matches no key after one fresh list, reading no password', async () => {
      await disclose(body());
      tenant.requests.length = 0;
      const response = await disclose(body({ keyId: 'FFFFFFFF' }));
      expect(response.json().code).toBe('key_id_mismatch');
      expect(tenant.requests.map((r) => r.path)).toEqual([keyList]);
    });

    it('answers key_id_mismatch when the cached key is gone from Graph (404), and looks the device up afresh next time', async () => {
      await disclose(body());
      tenant.keys.splice(tenant.keys.indexOf(osKey), 1);
      const response = await disclose(body());
      expect(response.statusCode).toBe(422);
      expect(response.json().code).toBe('key_id_mismatch');
      expect(harness.auditRecords().slice(2).map((r) => `${r.action}:${r.outcome}`)).toEqual(['disclosure_intent:pending', 'disclosure:refused']);
      tenant.requests.length = 0;
      await disclose(body({ keyId: '9F8E7D6C' }));
      expect(tenant.requests.map((r) => r.path)).toEqual(['/v1.0/devices', keyList, '/v1.0/deviceManagement/managedDevices', `${keyList}/${dataKey.id}`]);
    });

    it("never hands out a password whose read names another device, and forgets the device", async () => {
      await disclose(body());
      const other = tenantDevice('LAPTOP-OTHER', [bob]);
      osKey.deviceId = other.deviceId;
      const response = await disclose(body());
      expect(response.json().code).toBe('key_id_mismatch');
      expect(response.body).not.toContain(osKey.key);
      tenant.requests.length = 0;
      await disclose(body());
      expect(tenant.requests[0]!.path).toBe('/v1.0/devices');
    });
  });

  it("answers with KeyDesk's own request id, keeping the caller's as callerRequestId", async () => {
    const response = await disclose(body(), token, { 'x-request-id': 'snow-corr-000123' });
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(harness.auditRecords()[1]).toMatchObject({ requestId: response.headers['x-request-id'], callerRequestId: 'snow-corr-000123' });
    const odd = await disclose(body(), token, { 'x-request-id': 'short' });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(harness.auditRecords()[3]!.callerRequestId).toBeNull();
  });

  it('accepts the Intune primary user as requester', async () => {
    const response = await disclose(body({ requesterUpn: 'BOB@contoso.com' }));
    expect(response.statusCode).toBe(201);
    expect(response.json().checks.requesterMatchedAs).toBe('primary_user');
  });

  it.each([
    ['invalid_ticket', 422, { ticket: 'see chat' }],
    ['comment_required', 422, { reason: 'other' }],
    ['device_not_found', 404, { deviceName: 'LAPTOP-NOBODY' }],
    ['key_id_mismatch', 422, { keyId: 'DEADBEEF' }],
    ['requester_not_owner', 422, { requesterUpn: 'mallory@contoso.com' }],
    ['key_not_found', 404, { deviceName: 'DESKTOP-NOKEY' }],
  ])('refuses with %s (%i), audits the refusal and reads no key', async (code, status, overrides) => {
    const response = await disclose(body(overrides));
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status, code, type: `urn:keydesk:problem:${code}` });
    expect(tenant.keyReads()).toHaveLength(0);
    const records = harness.auditRecords();
    expect(records).toEqual([expect.objectContaining({ action: 'disclosure', outcome: 'refused', code, door: 'api' })]);
    expect(response.json()).toMatchObject({ disclosureId: records[0]!.disclosureId, auditRecordId: records[0]!.id });
  });

  it('lists the candidates when two devices share the name', async () => {
    const refused = await disclose(body({ deviceName: 'LAPTOP-SHARED' }));
    expect(refused.statusCode).toBe(409);
    const problem = refused.json();
    expect(problem.code).toBe('ambiguous_device');
    expect(problem.candidates).toHaveLength(2);
    expect(problem.candidates[0]).toEqual(
      expect.objectContaining({ deviceId: expect.any(String), operatingSystem: 'Windows', approximateLastSignInDateTime: '2026-11-20T08:15:00Z', owners: [ann.userPrincipalName] }),
    );
  });

  it('discloses by Entra device ID, with the full key ID', async () => {
    const response = await disclose(body({ deviceName: undefined, deviceId: laptop.deviceId, keyId: osKey.id }));
    expect(response.statusCode).toBe(201);
    expect(response.json().recoveryKey.id).toBe(osKey.id);
    expect(tenant.requests[0]!.query.get('$filter')).toBe(`deviceId eq '${laptop.deviceId}'`);
  });

  it('asks for more digits when the key ID prefix fits two keys', async () => {
    tenant.keys.push({ ...dataKey, id: '1a2b3c4d-3333-4eee-8fff-0123456789ab', key: fakeRecoveryPassword() });
    const response = await disclose(body());
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('ambiguous_key_id');
    expect(tenant.keyReads()).toHaveLength(0);
  });

  it('discloses in warn mode with a warning, and records the mismatch', async () => {
    await harness.close();
    harness = await buildHarness('disclosures-warn', { env: { REQUESTER_CHECK: 'warn' } });
    const response = await disclose(body({ requesterUpn: 'mallory@contoso.com' }));
    expect(response.statusCode).toBe(201);
    expect(response.json().warnings[0]).toMatch(/mallory@contoso.com is neither a registered owner nor the Intune primary user .*REQUESTER_CHECK=warn/);
    expect(harness.auditRecords()[1]).toMatchObject({ outcome: 'granted', checks: { requester: 'warned' } });
  });

  it.each([
    ['both deviceName and deviceId', { deviceId: randomUUID() }],
    ['a key ID shorter than 8 digits', { keyId: '1A2B3C4' }],
    ['a key ID with non-hex characters', { keyId: '1A2B3C4Z' }],
    ['a key ID of hyphens only', { keyId: '--------' }],
    ['a device name with a lone surrogate', { deviceName: 'PC\ud800' }],
    ['an unknown reason', { reason: 'curiosity' }],
    ['an unknown field', { requester: 'ann' }],
    ['a requester that is not a UPN', { requesterUpn: 'ann' }],
    ['an over-long comment', { comment: 'x'.repeat(1001) }],
  ])('refuses %s as invalid_request, and audits it', async (_label, overrides) => {
    const response = await disclose(body(overrides));
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('invalid_request');
    expect(response.json().errors.length).toBeGreaterThan(0);
    const records = harness.auditRecords();
    expect(records).toEqual([expect.objectContaining({ action: 'disclosure', outcome: 'refused', code: 'invalid_request' })]);
    expect(response.json()).toMatchObject({ disclosureId: records[0]!.disclosureId, auditRecordId: records[0]!.id });
    expect(tenant.requests).toHaveLength(0);
  });

  it('looks a disclosure that names no device up by its key ID, and refuses it with device_not_found while the index has never synced', async () => {
    const response = await disclose(body({ deviceName: undefined }));
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('device_not_found');
    expect(response.json().detail).toContain('the key index has not completed a sync yet');
    expect(harness.auditRecords()).toEqual([expect.objectContaining({ action: 'disclosure', outcome: 'refused', code: 'device_not_found' })]);
    expect(tenant.requests).toHaveLength(0);
  });

  it('refuses a body over the limit with 413', async () => {
    const response = await disclose(body({ comment: 'x'.repeat(9000) }));
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('payload_too_large');
  });

  it('refuses a body that is not JSON', async () => {
    const response = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      payload: 'deviceName=LAPTOP-ANN',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().code).toBe('unsupported_media_type');
  });

  it('refuses a caller without a token (401, not audited) and one without the Disclose role (403, audited)', async () => {
    const anonymous = await harness.inject({ method: 'POST', url: '/api/v1/disclosures', payload: body() });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    expect(anonymous.json().code).toBe('unauthorized');

    const lookupOnly = await disclose(body(), await issueAppToken(signingKey, { roles: ['BitLocker.Lookup'] }));
    expect(lookupOnly.statusCode).toBe(403);
    expect(lookupOnly.json()).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('BitLocker.Disclose') });

    expect(harness.auditRecords()).toEqual([expect.objectContaining({ outcome: 'refused', code: 'forbidden', caller: expect.objectContaining({ kind: 'app' }) })]);
    expect(tenant.requests).toHaveLength(0);
  });

  it('asks for a token however the path is spelled, and never audits anonymous requests', async () => {
    for (const url of ['/%61pi/v1/disclosures', '/api/v1/%64isclosures']) {
      const response = await harness.inject({ method: 'POST', url, payload: { nonsense: true } });
      expect({ url, status: response.statusCode, code: response.json().code }).toEqual({ url, status: 401, code: 'unauthorized' });
    }
    expect(harness.auditRecords()).toEqual([]);
  });

  it('checks the role before the body: a Lookup-only caller gets 403 even for a malformed body', async () => {
    const response = await disclose({ nonsense: true }, await issueAppToken(signingKey, { roles: ['BitLocker.Lookup'] }));
    expect(response.statusCode).toBe(403);
    expect(harness.auditRecords()).toEqual([expect.objectContaining({ code: 'forbidden' })]);
  });

  it('refuses expired tokens', async () => {
    const response = await disclose(body(), await issueAppToken(signingKey, { expiresInSeconds: -600 }));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'unauthorized', detail: expect.stringContaining('expired') });
  });

  it('answers audit_unavailable and discloses nothing when the audit trail cannot be written', async () => {
    const audit = new MemoryAuditSink();
    audit.failingAppends = new Set([2]);
    await harness.close();
    harness = await buildHarness('disclosures-audit-down', { audit });
    const response = await disclose(body());
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe('audit_unavailable');
    expect(response.body).not.toContain(osKey.key);
    // The key was read (Entra logged it) and the intent says so; the outcome could not be written.
    expect(tenant.keyReads()).toHaveLength(1);
    expect(audit.records.map((r) => r.action)).toEqual(['disclosure_intent']);
  });

  it('writes one info line per outcome, without the key', async () => {
    await disclose(body());
    await disclose(body({ keyId: 'DEADBEEF' }));
    const outcomes = harness.logLines().filter((line) => typeof line.disclosure === 'object');
    expect(outcomes.map((line) => (line.disclosure as { outcome: string }).outcome)).toEqual(['granted', 'refused']);
    expect(JSON.stringify(harness.logLines())).not.toContain(osKey.key);
  });

  it('records 200 concurrent disclosures without losing or interleaving any', async () => {
    await harness.close();
    // One app disclosing one device 200 times would alert; the alerts have tests of their own.
    harness = await buildHarness('disclosures-concurrent', { env: { RATE_LIMIT_DISCLOSURES_PER_MINUTE: '0', ALERT_DISCLOSURES_PER_HOUR: '0', ALERT_REPEAT_DEVICE_HOURS: '0' } });
    const responses = await Promise.all(Array.from({ length: 200 }, () => disclose(body())));
    expect(responses.every((r) => r.statusCode === 201)).toBe(true);
    const records = harness.auditRecords();
    expect(records).toHaveLength(400);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const ids = new Set(responses.map((r) => r.json().disclosureId as string));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(records.filter((r) => r.disclosureId === id).map((r) => r.action)).toEqual(['disclosure_intent', 'disclosure']);
    }
    expect(await verifyAuditFile(harness.auditFile, null)).toMatchObject({ ok: true, records: 400 });
  });

  describe('tokens of people (delegated) and rate limits', () => {
    it('refuses a staff member\'s delegated token with 403 app_token_required, and records the attempt', async () => {
      const staffToken = await issueUserToken(signingKey, { roles: ['BitLocker.Disclose'] });
      const response = await disclose(body(), staffToken);
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('app_token_required');
      const records = harness.auditRecords();
      expect(records).toEqual([expect.objectContaining({ code: 'app_token_required', outcome: 'refused', caller: expect.objectContaining({ kind: 'user', upn: 'sam.agent@contoso.com', appId: STAFF_CLIENT_ID }) })]);
      expect(response.json()).toMatchObject({ disclosureId: records[0]!.disclosureId, auditRecordId: records[0]!.id });
      // The look-up routes take application tokens only as well.
      const lookup = await harness.inject({ method: 'GET', url: '/api/v1/devices?name=LAPTOP-ANN', headers: { authorization: `Bearer ${staffToken}` } });
      expect(lookup.statusCode).toBe(403);
      expect(lookup.json().code).toBe('app_token_required');
      expect(tenant.requests).toHaveLength(0);
    });

    it('treats a token without scp but naming a user as a person\'s, not an application\'s', async () => {
      const sneaky = await issueAppToken(signingKey, { extraClaims: { idtyp: undefined, upn: 'sam.agent@contoso.com' } });
      const response = await disclose(body(), sneaky);
      expect(response.json().code).toBe('app_token_required');
    });

    describe('a delegated client listed in API_USER_TOKEN_CLIENTS', () => {
      const listed = (extra: Record<string, string> = {}) => buildHarness('disclosures-delegated', { env: { API_USER_TOKEN_CLIENTS: STAFF_CLIENT_ID, ...extra } });

      it('discloses with the token\'s user as agentUpn', async () => {
        await harness.close();
        harness = await listed();
        const response = await disclose(body({ agentUpn: undefined }), await issueUserToken(signingKey));
        expect(response.statusCode).toBe(201);
        expect(harness.auditRecords()[1]).toMatchObject({ agentUpn: 'sam.agent@contoso.com', caller: { kind: 'user', upn: 'sam.agent@contoso.com' } });
      });

      it('refuses an agentUpn that is not the token\'s user with 422 agent_mismatch', async () => {
        await harness.close();
        harness = await listed();
        const response = await disclose(body({ agentUpn: 'someone.else@contoso.com' }), await issueUserToken(signingKey));
        expect(response.statusCode).toBe(422);
        expect(response.json().code).toBe('agent_mismatch');
        expect(harness.auditRecords()).toEqual([expect.objectContaining({ code: 'agent_mismatch' })]);
        expect(tenant.keyReads()).toHaveLength(0);
      });

      it('holds the staff member to the staff disclosure limit', async () => {
        await harness.close();
        harness = await listed({ RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE: '2' });
        const staffToken = await issueUserToken(signingKey);
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await disclose(body({ agentUpn: undefined }), staffToken)).statusCode);
        expect(statuses).toEqual([201, 201, 429]);
      });

      it('with REQUIRE_AUTH_CONTEXT, answers a token without it 401 with a claims challenge, and takes one with it', async () => {
        await harness.close();
        harness = await listed({ REQUIRE_AUTH_CONTEXT: 'c1' });
        const without = await disclose(body({ agentUpn: undefined }), await issueUserToken(signingKey));
        expect(without.statusCode).toBe(401);
        expect(without.json().code).toBe('step_up_required');
        const challenge = without.headers['www-authenticate'] as string;
        expect(challenge).toMatch(/^Bearer error="insufficient_claims"/);
        const claims = JSON.parse(Buffer.from(/claims="([^"]+)"/.exec(challenge)![1]!, 'base64').toString('utf8'));
        expect(claims.access_token.acrs).toEqual({ essential: true, value: 'c1' });
        expect(harness.auditRecords()).toEqual([expect.objectContaining({ code: 'step_up_required' })]);
        const withIt = await disclose(body({ agentUpn: undefined }), await issueUserToken(signingKey, { acrs: ['c1'] }));
        expect(withIt.statusCode).toBe(201);
      });
    });

    it('limits an application to RATE_LIMIT_DISCLOSURES_PER_MINUTE, answering 429 with Retry-After, recorded', async () => {
      await harness.close();
      harness = await buildHarness('disclosures-rate', { env: { RATE_LIMIT_DISCLOSURES_PER_MINUTE: '2', ALERT_REPEAT_DEVICE_HOURS: '0' } });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push(await disclose(body()));
      expect(statuses.map((r) => r.statusCode)).toEqual([201, 201, 429]);
      const limited = statuses[2]!;
      expect(limited.json().code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(harness.auditRecords().at(-1)).toMatchObject({ code: 'rate_limited', outcome: 'refused', door: 'api' });
      expect(tenant.keyReads()).toHaveLength(2);
    });
  });

  describe('disabled accounts', () => {
    it('refuses a disabled device with 422 device_disabled, reading neither its keys nor a key', async () => {
      laptop.accountEnabled = false;
      const response = await disclose(body());
      expect(response.statusCode).toBe(422);
      expect(response.json().code).toBe('device_disabled');
      expect(tenant.requests.map((r) => r.path)).toEqual(['/v1.0/devices']);
      expect(harness.auditRecords()[0]).toMatchObject({ code: 'device_disabled', checks: { deviceEnabled: 'failed' } });
    });

    it('refuses an owner whose account is disabled with 422 requester_disabled', async () => {
      ann.accountEnabled = false;
      try {
        const response = await disclose(body());
        expect(response.statusCode).toBe(422);
        expect(response.json().code).toBe('requester_disabled');
        expect(tenant.keyReads()).toHaveLength(0);
      } finally {
        ann.accountEnabled = true;
      }
    });

    it('discloses with warnings under DISABLED_DEVICE_CHECK=warn and DISABLED_REQUESTER_CHECK=warn', async () => {
      laptop.accountEnabled = false;
      ann.accountEnabled = false;
      await harness.close();
      harness = await buildHarness('disclosures-disabled-warn', { env: { DISABLED_DEVICE_CHECK: 'warn', DISABLED_REQUESTER_CHECK: 'warn' } });
      try {
        const response = await disclose(body());
        expect(response.statusCode).toBe(201);
        expect(response.json().checks).toMatchObject({ deviceEnabled: 'warned', requesterEnabled: 'warned' });
        expect(response.json().warnings).toHaveLength(2);
      } finally {
        ann.accountEnabled = true;
      }
    });
  });

  describe('a recovery password pasted into a field by mistake', () => {
    it.each([
      ['ticket', (pw: string) => body({ ticket: pw })],
      ['deviceName', (pw: string) => body({ deviceName: pw })],
      ['requesterUpn', (pw: string) => body({ requesterUpn: `${pw}@contoso.com` })],
      ['comment', (pw: string) => body({ reason: 'other', comment: `it was ${pw.replaceAll('-', ' ')}` })],
      ['a member name', (pw: string) => ({ ...body(), [pw]: 'x' })],
    ])('in %s is refused as invalid_request, and neither echoed, recorded, logged nor sent to Graph', async (_where, build) => {
      const pasted = fakeRecoveryPassword();
      const response = await disclose(build(pasted));
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('invalid_request');
      expect(response.json().errors[0].message).toMatch(/^looks like a BitLocker recovery password/);
      const digits = pasted.replaceAll('-', '');
      const seen = (text: string) => text.includes(pasted) || text.replace(/\D/g, '').includes(digits);
      expect(seen(response.body)).toBe(false);
      expect(seen(JSON.stringify(harness.auditRecords()))).toBe(false);
      expect(seen(JSON.stringify(harness.logLines()))).toBe(false);
      expect(harness.auditRecords()).toEqual([expect.objectContaining({ code: 'invalid_request', ticket: null, details: { errors: [expect.objectContaining({ location: 'body' })] } })]);
      expect(tenant.requests).toHaveLength(0);
    });

    it('in a device search is refused before Graph is asked', async () => {
      const pasted = fakeRecoveryPassword();
      const token = await issueAppToken(signingKey, { roles: ['BitLocker.Lookup'] });
      const response = await harness.inject({ method: 'GET', url: `/api/v1/devices?name=${pasted}`, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode).toBe(400);
      expect(response.body).not.toContain(pasted);
      expect(tenant.requests).toHaveLength(0);
    });
  });

  it('keeps which members failed the contract in the refusal record, without their values', async () => {
    await disclose(body({ reason: 'bored', keyId: '12' }));
    const record = harness.auditRecords()[0]!;
    expect(record.details).toEqual({ errors: expect.arrayContaining([expect.objectContaining({ path: '/reason' }), expect.objectContaining({ path: '/keyId' })]) });
    expect(JSON.stringify(record)).not.toContain('bored');
  });

  it('words invalid_ticket without the default examples when TICKET_PATTERN is custom', async () => {
    await harness.close();
    harness = await buildHarness('disclosures-ticket', { env: { TICKET_PATTERN: '^HD-\\d{6}$' } });
    const response = await disclose(body({ ticket: 'INC0012345' }));
    expect(response.json().code).toBe('invalid_ticket');
    expect(response.json().detail).toContain('TICKET_PATTERN');
    expect(response.json().detail).not.toContain('SD-1234');
  });

  it('records one refusals_per_10_minutes alert when one app is refused a sixth time within 10 minutes (README: Alerts)', async () => {
    for (let n = 1; n <= 7; n += 1) expect((await disclose(body({ ticket: 'not a ticket!' }))).statusCode).toBe(422);
    await harness.app.alerts.idle();
    const alerts = harness.auditRecords().filter((record) => record.action === 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      outcome: 'raised',
      caller: { kind: 'app', appId: CALLER_APP_ID },
      details: { rule: 'refusals_per_10_minutes', subject: `app:${CALLER_APP_ID}`, counts: { refused: 6, threshold: 5 } },
    });
    expect(harness.auditRecords().filter((record) => record.action === 'disclosure' && record.outcome === 'refused')).toHaveLength(7);
  });
});
