import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/types.js';
import { createLogger } from '../../src/logging/logger.js';
import { startServer } from '../../src/server/start.js';
import { testConfig } from '../helpers/config.js';
import { TENANT_ID } from '../helpers/entra.js';
import { FakeGraph, device, recoveryKey } from '../helpers/fakes.js';
import { freePort } from '../helpers/net.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { ARTIFACTS_DIR, RECOVERY_PASSWORD_PATTERN } from '../helpers/secret-scan.js';
import { SyslogListener } from './syslog-listener.js';

/** KeyDesk as it runs (startServer, the file store, the outbox) forwarding a disclosure to a syslog receiver and to HEC. */

const HEC_TOKEN = 'b2c4d6e8-1a3b-4c5d-8e7f-9a0b1c2d3e4f';

const cleanUps: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanUp of cleanUps.splice(0).reverse()) await cleanUp();
});

/** The smallest HTTP Event Collector: takes events carrying the token. */
async function startHec(): Promise<{ url: string; events: Array<Record<string, unknown>> }> {
  const events: Array<Record<string, unknown>> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.headers.authorization !== `Splunk ${HEC_TOKEN}`) return void response.writeHead(403).end('{"text":"Invalid token","code":4}');
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanUps.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/services/collector/event`, events };
}

async function startKeyDesk(dir: string, env: Record<string, string>, password: string) {
  const laptop = device({ displayName: 'LAPTOP-SIEM', registeredOwners: [{ id: 'u1', userPrincipalName: 'ann@contoso.com' }] });
  const key = recoveryKey(laptop.deviceId, { id: '5e6f7a8b-2222-4ccc-9ddd-0123456789ab' });
  const graph = new FakeGraph({ devices: [laptop], intune: {}, keys: [key], passwords: { [key.id]: password } });
  const config = { ...testConfig({ AUDIT_FILE: join(dir, 'audit.jsonl'), HOST: '127.0.0.1', ...env }), port: await freePort() };
  const logger = createLogger('info', pino.destination({ dest: join(dir, 'service.log'), sync: true }));
  const server = await startServer(config, {
    logger,
    graph,
    tokenVerifier: {
      verify: async () => ({ kind: 'app', appId: 'snow', oid: 'sp', upn: null, name: 'ServiceNow', roles: ['BitLocker.Disclose'], scopes: [], acrs: [], tenantId: 't', tokenVersion: '2.0' }),
      checkIdentityProvider: async () => undefined,
    },
    handleSignals: false,
  });
  cleanUps.push(() => server.stop());
  return { server, key };
}

describe('SIEM forwarding through the outbox', () => {
  it('sends a disclosure to the syslog receiver and to HEC as OCSF events, intent and outcome, without the password', async () => {
    const dir = join(ARTIFACTS_DIR, 'siem', `outbox-${randomUUID().slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    const listener = await SyslogListener.start();
    cleanUps.push(() => listener.stop());
    const hec = await startHec();
    const password = fakeRecoveryPassword();
    const { server, key } = await startKeyDesk(dir, { SIEM_SYSLOG_URL: `tcp://127.0.0.1:${listener.port}`, SIEM_SPLUNK_HEC_URL: hec.url, SIEM_SPLUNK_HEC_TOKEN: HEC_TOKEN }, password);

    const response = await fetch(`${server.url}/api/v1/disclosures`, {
      method: 'POST',
      headers: { authorization: 'Bearer a.b.c', 'content-type': 'application/json' },
      body: JSON.stringify({ deviceName: 'LAPTOP-SIEM', keyId: '5E6F7A8B', ticket: 'INC0054321', reason: 'forgotten_pin', requesterUpn: 'ann@contoso.com', agentUpn: 'carl@contoso.com' }),
    });
    expect(response.status).toBe(201);
    await response.arrayBuffer();

    const messages = await listener.received(2);
    await expect.poll(() => hec.events.length, { timeout: 10_000 }).toBe(2);
    const records = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    expect(messages.map((message) => [message.facility, message.appName, message.msgId])).toEqual([
      [13, 'keydesk', 'disclosure_intent'],
      [13, 'keydesk', 'disclosure'],
    ]);
    const events = messages.map((message) => JSON.parse(message.msg) as { metadata: { uid: string } });
    expect(events.map((event) => event.metadata.uid)).toEqual(records.map((record) => record.id));
    expect(events[1]).toMatchObject({
      class_uid: 3004,
      type_uid: 300402,
      status: 'Success',
      entity: { uid: key.id, device: { name: 'LAPTOP-SIEM' } },
      actor: { user: { name: 'carl@contoso.com' }, app_uid: 'snow' },
      metadata: { sequence: records[1]!.seq, correlation_uid: records[0]!.disclosureId, tenant_uid: TENANT_ID },
      unmapped: { hash: records[1]!.hash, prevHash: records[0]!.hash, ticket: 'INC0054321' },
    });
    expect(hec.events.map((event) => (event.event as { metadata: { uid: string } }).metadata.uid).sort()).toEqual(records.map((record) => record.id).sort());
    const everything = JSON.stringify([messages, hec.events]);
    expect(everything).not.toContain(password);
    expect(everything).not.toMatch(RECOVERY_PASSWORD_PATTERN);
  });
});
