import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { createEntraAuditLog } from '../../src/graph/entra-audit-log.js';
import { problemOf } from '../helpers/problems.js';
import { GRAPH, captureLog, fakeTime, graphConfig, graphError, mockTokenEndpoint, receivedQuery, tokenProviderFor } from '../helpers/graph-fixtures.js';

/**
 * Entra's audit log through Graph, answered by nock in Graph's own shapes: the filter KeyDesk
 * sends, paging, the entries it understands, the pace it keeps (5 requests per 10 s), the key's
 * device read without `$select`, and the permission problem.
 */

const AUDITS = '/v1.0/auditLogs/directoryAudits';
const KEY_ID = 'b465e4e8-0f1d-4c3b-9a8e-7d6c5b4a3f21';
const WINDOW = { from: '2026-11-25T09:00:00.000Z', to: '2026-11-25T10:00:00.000Z' };

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function auditLog() {
  const log = captureLog();
  const time = fakeTime();
  const config = graphConfig();
  return { time, entra: createEntraAuditLog(config, { logger: log.logger, tokenProvider: tokenProviderFor(config, log.logger), sleep: time.sleep, now: time.now }) };
}

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `Directory_${randomUUID()}`,
    category: 'KeyManagement',
    correlationId: randomUUID(),
    result: 'success',
    activityDisplayName: 'Read BitLocker key',
    activityDateTime: '2026-11-25T09:30:00Z',
    loggedByService: 'Core Directory',
    initiatedBy: { app: null, user: { id: randomUUID(), displayName: 'Eve', userPrincipalName: 'eve@contoso.com', ipAddress: '198.51.100.4' } },
    targetResources: [{ id: randomUUID(), displayName: KEY_ID, type: 'Other', modifiedProperties: [] }],
    additionalDetails: [],
    ...overrides,
  };
}

describe("Entra's audit log of key reads", () => {
  it('asks for the "Read BitLocker key" events of the window, follows nextLink, and reads the key ID leniently', async () => {
    const { entra } = auditLog();
    mockTokenEndpoint();
    const uris: string[] = [];
    const next = `${GRAPH}${AUDITS}?$filter=activityDisplayName+eq+%27Read+BitLocker+key%27&$skiptoken=page2`;
    nock(GRAPH)
      .get(AUDITS)
      .query(true)
      .times(2)
      .reply((uri) => {
        uris.push(uri);
        if (uri.includes('skiptoken')) {
          return [200, { value: [entry({ targetResources: [{ id: null, displayName: `BitLocker Key ID: ${KEY_ID.toUpperCase()}`, type: 'Other' }] }), entry({ category: 'UserManagement' })] }];
        }
        return [200, { value: [entry({ initiatedBy: { app: { appId: 'app-1', displayName: 'KeyDesk', servicePrincipalId: 'sp-1' }, user: null } })], '@odata.nextLink': next }];
      });

    const reads = await entra.listKeyReads(WINDOW);

    expect(receivedQuery(uris[0]!).get('$filter')).toBe(
      "activityDisplayName eq 'Read BitLocker key' and activityDateTime ge 2026-11-25T09:00:00.000Z and activityDateTime le 2026-11-25T10:00:00.000Z",
    );
    expect(uris[1]).toContain('$skiptoken=page2');
    // The UserManagement entry is not a key read and is dropped.
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatchObject({ keyId: KEY_ID, initiatedBy: { kind: 'app', appId: 'app-1', servicePrincipalId: 'sp-1' } });
    expect(reads[1]).toMatchObject({ keyId: KEY_ID, initiatedBy: { kind: 'user', userPrincipalName: 'eve@contoso.com', ipAddress: '198.51.100.4' } });
  });

  it('sends no more than 5 requests in any 10 seconds, however many pages there are', async () => {
    const { entra, time } = auditLog();
    mockTokenEndpoint();
    const sentAt: number[] = [];
    nock(GRAPH)
      .get(AUDITS)
      .query(true)
      .times(12)
      .reply((uri) => {
        sentAt.push(time.now());
        const page = Number(new URL(uri, GRAPH).searchParams.get('$skiptoken') ?? '0');
        const body: Record<string, unknown> = { value: [entry()] };
        if (page < 11) body['@odata.nextLink'] = `${GRAPH}${AUDITS}?$skiptoken=${page + 1}`;
        return [200, body];
      });

    const reads = await entra.listKeyReads(WINDOW);

    expect(reads).toHaveLength(12);
    expect(sentAt).toHaveLength(12);
    for (let i = 0; i + 5 < sentAt.length; i++) expect(sentAt[i + 5]! - sentAt[i]!).toBeGreaterThanOrEqual(10_000);
  });

  it('waits out a 429 with Retry-After and carries on', async () => {
    const { entra, time } = auditLog();
    mockTokenEndpoint();
    nock(GRAPH).get(AUDITS).query(true).reply(429, graphError('TooManyRequests', 'Too many requests'), { 'Retry-After': '1' });
    nock(GRAPH).get(AUDITS).query(true).reply(200, { value: [entry()] });

    expect(await entra.listKeyReads(WINDOW)).toHaveLength(1);
    expect(time.waits).toContain(1_000);
  });

  it('answers a 403 with graph_permission_missing naming AuditLog.Read.All and Directory.Read.All', async () => {
    const { entra } = auditLog();
    mockTokenEndpoint();
    nock(GRAPH).get(AUDITS).query(true).reply(403, graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'));

    const problem = await problemOf(entra.listKeyReads(WINDOW));

    expect(problem.code).toBe('graph_permission_missing');
    expect(problem.detail).toContain('AuditLog.Read.All and Directory.Read.All');
  });

  it("finds a key's device without $select, so the look-up is no key read of its own", async () => {
    const { entra } = auditLog();
    mockTokenEndpoint();
    let query = 'unset';
    nock(GRAPH)
      .get(`/v1.0/informationProtection/bitlocker/recoveryKeys/${KEY_ID}`)
      .query(true)
      .reply((uri) => {
        query = new URL(uri, GRAPH).search;
        return [200, { id: KEY_ID, createdDateTime: '2026-01-11T10:00:00Z', volumeType: '1', deviceId: 'dev-1' }];
      });
    nock(GRAPH).get('/v1.0/informationProtection/bitlocker/recoveryKeys/0c9a7d5e-2b41-4f63-8e1d-6a5b4c3d2e1f').reply(404, graphError('NotFound', 'not found'));

    expect(await entra.deviceIdOfKey(KEY_ID)).toBe('dev-1');
    expect(query).toBe('');
    expect(await entra.deviceIdOfKey('0c9a7d5e-2b41-4f63-8e1d-6a5b4c3d2e1f')).toBeNull();
  });
});
