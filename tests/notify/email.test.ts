import { writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generate } from 'selfsigned';
import { emailChannel } from '../../src/notify/email.js';
import { createNotifications } from '../../src/notify/notifications.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { isProblem } from '../../src/problem/problem.js';
import { memoryLogger, tempAuditFile, disclosureEntry } from '../audit/audit-kit.js';
import { testConfig } from '../helpers/config.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { FakeGraph, device, user } from '../helpers/fakes.js';
import { RECOVERY_PASSWORD_PATTERN } from '../helpers/secret-scan.js';
import { startMailServer, type MailServer } from './notify-kit.js';
import { dirname } from 'node:path';

/** The email channel against a real SMTP server (smtp-server): plain on loopback, STARTTLS off it. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const owner = user('ann.lee@contoso.com', { mail: 'ann.lee@contoso.com' });
const primary = user('bob@contoso.com', { mail: 'bob.mailbox@contoso.com' });
const requester = user('carol@contoso.com', { mail: 'carol@contoso.com' });
const laptop = device({ displayName: 'LAPTOP-X', registeredOwners: [{ id: owner.id, userPrincipalName: owner.userPrincipalName, mail: 'ann.lee@contoso.com' }] });

function directory(): FakeGraph {
  return new FakeGraph({
    devices: [laptop],
    users: [owner, primary, requester],
    intune: { [laptop.deviceId]: { managedDeviceId: 'md-1', deviceName: 'LAPTOP-X', primaryUserUpn: primary.userPrincipalName, primaryUserId: primary.id, lastSyncDateTime: null } },
    keys: [],
    passwords: {},
  });
}

function grantedRecord(): AuditRecord {
  return {
    seq: 7,
    id: crypto.randomUUID(),
    time: new Date().toISOString(),
    ...disclosureEntry({ requesterUpn: requester.userPrincipalName, ticket: 'INC0012345', device: { id: laptop.id, deviceId: laptop.deviceId, displayName: 'LAPTOP-X' } }),
    hashAlg: 'sha256',
    prevHash: '0'.repeat(64),
    hash: 'a'.repeat(64),
  };
}

function channelFor(env: Record<string, string>, graph = directory()) {
  const config = testConfig({ NOTIFY_EMAIL_FROM: 'keydesk@contoso.com', NOTIFY_EMAIL_TO: 'security@contoso.com', ...env });
  const channel = emailChannel({ config: config.notify.email!, events: config.notify.events, graph });
  cleanups.push(() => channel.close());
  return channel;
}

async function mailServer(name: string, ...args: Parameters<typeof startMailServer> extends [string, ...infer R] ? R : never): Promise<MailServer> {
  const server = await startMailServer(name, ...args);
  cleanups.push(() => server.close());
  return server;
}

/** The message text with quoted-printable soft line breaks undone. */
const unfolded = (raw: string) => raw.replace(/=\r?\n/g, '');

/** An address of this host that is not loopback, where STARTTLS is required. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

describe('the email channel', () => {
  it('mails the security mailbox the facts, and the owners, primary user and requester a short notice, on loopback without TLS', async () => {
    const server = await mailServer('email-plain');
    const graph = directory();
    const record = grantedRecord();
    await channelFor({ SMTP_URL: `smtp://127.0.0.1:${server.port}` }, graph).deliver(record, AbortSignal.timeout(10_000));

    expect(server.mails).toHaveLength(2);
    const [security, owners] = server.mails;
    expect(security!.to).toEqual(['security@contoso.com']);
    expect(security!.raw).toMatch(new RegExp(`^KeyDesk-Event-Id: ${record.id}\r?$`, 'im'));
    expect(security!.raw).toContain('LAPTOP-X');
    expect(security!.raw).toContain('INC0012345');
    expect(owners!.to.sort()).toEqual(['ann.lee@contoso.com', 'bob.mailbox@contoso.com', 'carol@contoso.com']);
    expect(unfolded(owners!.raw)).toContain('The recovery key of LAPTOP-X was given to the helpdesk under ticket INC0012345');
    expect(unfolded(owners!.raw)).toContain('If you did not ask for it, call security.');
    for (const mail of server.mails) expect(unfolded(mail.raw)).not.toMatch(RECOVERY_PASSWORD_PATTERN);
    expect(graph.calls.some((call) => call.startsWith('readRecoveryPassword'))).toBe(false);
  });

  it('tells the security mailbox and the owners of a self-service disclosure that the employee took it themselves', async () => {
    const server = await mailServer('email-self-service');
    const record: AuditRecord = { ...grantedRecord(), door: 'self_service', ticket: null, agentUpn: null };
    await channelFor({ SMTP_URL: `smtp://127.0.0.1:${server.port}` }).deliver(record, AbortSignal.timeout(10_000));
    const [security, owners] = server.mails;
    expect(unfolded(security!.raw)).toContain('Door: self-service (the employee, for their own device)');
    expect(owners!.to.sort()).toEqual(['ann.lee@contoso.com', 'bob.mailbox@contoso.com', 'carol@contoso.com']);
    expect(unfolded(owners!.raw)).toContain(`The recovery key of LAPTOP-X was given to ${requester.userPrincipalName} through self-service (`);
    expect(unfolded(owners!.raw)).not.toContain('helpdesk');
  });

  it('sends nothing while the owners cannot be looked up, then one security mail and one owners mail on the retry', async () => {
    const server = await mailServer('email-owners-graph-down');
    const graph = directory();
    const channel = channelFor({ SMTP_URL: `smtp://127.0.0.1:${server.port}` }, graph);
    const record = grantedRecord();
    graph.failWith = new KeyDeskProblem('graph_unavailable', 'Graph is down');
    await expect(channel.deliver(record, AbortSignal.timeout(10_000))).rejects.toThrow();
    expect(server.mails).toHaveLength(0);
    graph.failWith = null;
    await channel.deliver(record, AbortSignal.timeout(10_000));
    expect(server.mails.map((mail) => mail.to.length > 1 ? 'owners' : mail.to[0])).toEqual(['security@contoso.com', 'owners']);
  });

  it('tells the owners the key is being given when the notice comes before the read (a required channel)', async () => {
    const server = await mailServer('email-intent');
    const record = { ...grantedRecord(), action: 'disclosure_intent' as const, outcome: 'pending' as const };
    await channelFor({ SMTP_URL: `smtp://127.0.0.1:${server.port}` }).deliver(record, AbortSignal.timeout(10_000));
    const [security, owners] = server.mails.map((mail) => unfolded(mail.raw));
    expect(security).toContain('The recovery key of LAPTOP-X is being given to');
    expect(owners).toContain('The recovery key of LAPTOP-X is being given to the helpdesk under ticket INC0012345');
    expect(owners).not.toContain('was given');
  });

  it('mails only the security mailbox with NOTIFY_OWNERS=off', async () => {
    const server = await mailServer('email-owners-off');
    await channelFor({ SMTP_URL: `smtp://127.0.0.1:${server.port}`, NOTIFY_OWNERS: 'off' }).deliver(grantedRecord(), AbortSignal.timeout(10_000));
    expect(server.mails.map((mail) => mail.to)).toEqual([['security@contoso.com']]);
  });

  it.skipIf(outsideAddress === undefined)('upgrades with STARTTLS off loopback, and refuses a relay that does not offer it', async () => {
    const host = outsideAddress!;
    const made = await generate([{ name: 'commonName', value: host }], {
      keyType: 'rsa',
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7 as const, ip: host }] }],
    });
    const caFile = join(dirname(dirname(await tempAuditFile())), 'smtp-ca.pem');
    await writeFile(caFile, made.cert);

    const tls = await mailServer('email-starttls', { key: made.private, cert: made.cert }, host);
    await channelFor({ SMTP_URL: `smtp://${host}:${tls.port}`, SMTP_CA_FILE: caFile, NOTIFY_OWNERS: 'off' }).deliver(grantedRecord(), AbortSignal.timeout(10_000));
    expect(tls.mails).toHaveLength(1);
    expect(tls.mails[0]!.secure).toBe(true);

    const plain = await mailServer('email-no-starttls', {}, host);
    await expect(channelFor({ SMTP_URL: `smtp://${host}:${plain.port}`, NOTIFY_OWNERS: 'off' }).deliver(grantedRecord(), AbortSignal.timeout(10_000))).rejects.toThrow();
    expect(plain.mails).toHaveLength(0);
  });

  it('as a required channel that is down, refuses the notice with notification_unavailable', async () => {
    const server = await mailServer('email-down');
    const port = server.port;
    await server.close();
    const config = testConfig({ SMTP_URL: `smtp://127.0.0.1:${port}`, NOTIFY_EMAIL_FROM: 'keydesk@contoso.com', NOTIFY_EMAIL_TO: 'security@contoso.com', NOTIFY_EMAIL_REQUIRED: 'true', NOTIFY_REQUIRED_TIMEOUT_MS: '2000' });
    const notifications = createNotifications(config, { graph: directory(), logger: memoryLogger().logger });
    cleanups.push(() => notifications.close());
    const refused = await notifications.noticeBeforeRead({ ...grantedRecord(), action: 'disclosure_intent', outcome: 'pending' }).catch((error: unknown) => error);
    expect(isProblem(refused) && refused.code).toBe('notification_unavailable');
  });
});
