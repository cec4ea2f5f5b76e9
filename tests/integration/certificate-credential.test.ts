import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificateFile, startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { SIMULATOR_DIR } from '../global-setup.js';

/**
 * KeyDesk with the credential its README prefers — AZURE_CLIENT_CERTIFICATE_PATH — against the
 * simulated tenant over real HTTPS: MSAL builds and signs the client assertion, the tenant checks
 * it against the certificate registered on KeyDesk's app registration.
 */

describe('KeyDesk with a certificate credential', () => {
  let tenant: SimulatedTenant;
  let harness: Harness | undefined;
  let token: string;

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    const app = tenant.ticketingApps.find((a) => a.roles.includes('BitLocker.Disclose'))!;
    token = await tenant.issueAppToken(app.clientId);
  });
  afterAll(async () => {
    await tenant.close();
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  async function disclose(env: Record<string, string>) {
    tenant.clearLogs();
    harness = await buildHarness('certificate-credential', { env: { ...tenant.keydeskEnvironment({ credential: 'certificate' }), ...env } });
    const device = tenant.directory.notable.typical;
    const key = tenant.directory.keysOf(device.deviceId)[0]!;
    const response = await harness.inject({
      method: 'POST',
      url: '/api/v1/disclosures',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        deviceName: device.displayName,
        keyId: key.id.slice(0, 8).toUpperCase(),
        ticket: 'INC0012345',
        reason: 'forgotten_pin',
        requesterUpn: tenant.directory.owners(device)[0]!.userPrincipalName,
      },
    });
    return { response, key };
  }

  it('discloses a key, getting its Graph token with the registered certificate and no secret', async () => {
    const { response, key } = await disclose({});
    expect(response.statusCode).toBe(201);
    expect(response.json().recoveryKey).toMatchObject({ id: key.id });
    expect(response.json().recoveryKey.key).toBe(key.key);
    expect(tenant.tokenRequests).toMatchObject([
      { endpoint: 'v2.0', grantType: 'client_credentials', clientId: tenant.keydeskApp.clientId, scope: `${tenant.graphBaseUrl}/.default`, clientAuth: 'private_key_jwt', status: 200 },
    ]);
    expect(tenant.directoryAudits).toMatchObject([{ keyId: key.id, initiatedBy: { appId: tenant.keydeskApp.clientId } }]);
  });

  it('answers 502 graph_permission_missing naming the certificate when the tenant does not know it, and reads no key', async () => {
    const unknown = await createClientCertificateFile(join(ARTIFACTS_DIR, 'certificates', `unregistered-${randomUUID()}.pem`));
    const { response } = await disclose({ AZURE_CLIENT_CERTIFICATE_PATH: unknown.path });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toMatchObject({ code: 'graph_permission_missing', detail: expect.stringContaining('AZURE_CLIENT_CERTIFICATE_PATH') });
    expect(response.json().detail).toContain('AADSTS700027');
    expect(tenant.tokenRequests.at(-1)).toMatchObject({ clientAuth: 'private_key_jwt', status: 401, error: 'invalid_client', aadsts: 700027 });
    expect(tenant.directoryAudits).toEqual([]);
    expect(tenant.graphRequests).toEqual([]);
  });
});
