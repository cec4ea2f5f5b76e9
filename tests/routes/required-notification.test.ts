import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { mockTokenEndpoint } from '../helpers/graph-fixtures.js';
import { mockGraphTenant, tenantDevice, user, type MockTenant, type TenantKey } from '../helpers/graph-tenant.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { queuedFor } from '../../src/notify/channels.js';
import { WEBHOOK_SECRET, startWebhookReceiver, type WebhookReceiver } from '../notify/notify-kit.js';

/**
 * NOTIFY_WEBHOOK_REQUIRED=true: the webhook hears of a disclosure, from its intent record, before
 * the key is read; when it does not accept the notice the key is not read at all.
 */

const ann = user('ann.lee@contoso.com');

describe('a required webhook', () => {
  let signingKey: SigningKey;
  let harness: Harness;
  let tenant: MockTenant;
  let receiver: WebhookReceiver;
  let token: string;
  let osKey: TenantKey;

  beforeAll(async () => {
    signingKey = await makeSigningKey();
  });

  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    mockEntraDiscovery([signingKey]);
    mockTokenEndpoint({ times: 50 });
    const laptop = tenantDevice('LAPTOP-ANN', [ann]);
    osKey = { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab', deviceId: laptop.deviceId, volumeType: '1', createdDateTime: '2026-01-11T10:00:00Z', key: fakeRecoveryPassword() };
    tenant = mockGraphTenant([laptop], [osKey]);
    token = await issueAppToken(signingKey, { roles: ['BitLocker.Disclose'] });
    receiver = await startWebhookReceiver('required');
    harness = await buildHarness('required-notification', {
      env: { NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET, NOTIFY_WEBHOOK_REQUIRED: 'true', NOTIFY_REQUIRED_TIMEOUT_MS: '2000' },
    });
  });

  afterEach(async () => {
    await harness.close();
    await receiver.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const disclose = () =>
    harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${token}` },
      payload: { deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: ann.userPrincipalName, agentUpn: 'sam.agent@contoso.com' },
    });

  it('is told of the disclosure, signed, before the key is read, and not told again by the outbox', async () => {
    const response = await disclose();
    expect(response.statusCode).toBe(201);
    const [intent, grantedRecord] = harness.auditRecords();
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ verified: true, headers: { 'keydesk-event-id': intent!.id }, body: { id: intent!.id, type: 'disclosure_granted', auditRecordId: intent!.id, ticket: 'INC0012345' } });
    // The outbox leaves this disclosure's granted outcome out for the webhook, which heard of it already.
    expect(queuedFor(harness.app.notifications.channels[0]!, grantedRecord!, harness.app.notifications.required)).toBe(false);
    expect(harness.app.notifications.route(grantedRecord!)).toEqual([]);
  });

  it('says the key is being given, and when the read then fails, sends the refusal to the required webhook whatever NOTIFY_EVENTS lists', async () => {
    // The key vanishes from Entra between the notice and the read.
    receiver.onReceive = () => tenant.keys.splice(0, tenant.keys.length);
    const response = await disclose();
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    const [intent, failed] = harness.auditRecords();
    expect(failed).toMatchObject({ action: 'disclosure', outcome: 'refused', code: expect.any(String), disclosureId: intent!.disclosureId });
    expect(receiver.received[0]!.body).toMatchObject({ type: 'disclosure_granted', auditRecordId: intent!.id, disclosureId: intent!.disclosureId });
    // NOTIFY_EVENTS is the default (disclosure_granted only), yet the webhook that was told hears it was not given.
    expect(harness.app.notifications.route(failed!)).toEqual(['webhook']);
  });

  it('holds the key back when the webhook refuses the notice: 503 notification_unavailable, the attempt recorded failed, no key read', async () => {
    receiver.status = 500;
    const response = await disclose();
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.json()).toMatchObject({ code: 'notification_unavailable' });
    expect(tenant.keyReads()).toHaveLength(0);
    expect(harness.auditRecords().map((r) => `${r.action}:${r.outcome}:${r.code}`)).toEqual(['disclosure_intent:pending:null', 'disclosure:failed:notification_unavailable']);
  });

  it('holds the key back when the webhook is down', async () => {
    await receiver.close();
    const response = await disclose();
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'notification_unavailable' });
    expect(tenant.keyReads()).toHaveLength(0);
    expect(tenant.requests.some((request) => request.query.get('$select') === 'key')).toBe(false);
  });
});
