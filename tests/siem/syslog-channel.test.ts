import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import selfsigned from 'selfsigned';
import type { AuditRecord } from '../../src/audit/types.js';
import { readSiemConfig } from '../../src/config/siem-config.js';
import type { DeliveryChannel } from '../../src/notify/channel.js';
import { toOcsf } from '../../src/siem/ocsf.js';
import { createSyslogChannel } from '../../src/siem/syslog-channel.js';
import { freePort } from '../helpers/net.js';
import { RECOVERY_PASSWORD_PATTERN } from '../helpers/secret-scan.js';
import { FIXTURES, plantPasswords } from './fixtures.js';
import { SyslogListener } from './syslog-listener.js';

const cleanUps: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanUp of cleanUps.splice(0).reverse()) await cleanUp();
});

function track<T extends DeliveryChannel | SyslogListener>(thing: T): T {
  cleanUps.push(() => ('stop' in thing ? thing.stop() : thing.close()));
  return thing;
}

const deliver = (channel: DeliveryChannel, record: AuditRecord) => channel.deliver(record, AbortSignal.timeout(10_000));

/** The channel as the configuration builds it, from SIEM_SYSLOG_URL (and SIEM_SYSLOG_CA_FILE). */
function channelFor(env: Record<string, string>): DeliveryChannel {
  const problems: string[] = [];
  const config = readSiemConfig({ text: (name) => env[name], problem: (message) => problems.push(message) });
  expect(problems).toEqual([]);
  return track(createSyslogChannel({ target: config.syslog!, hostname: 'keydesk-1.contoso.com', connectTimeoutMs: 5_000 }));
}

/** A CA and a certificate it signed for 127.0.0.1, made for this test only. */
async function testCertificates(): Promise<{ caFile: string; key: string; cert: string; otherCaFile: string }> {
  const notAfterDate = new Date(Date.now() + 86_400_000);
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'KeyDesk test syslog CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate,
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  const server = await selfsigned.generate([{ name: 'commonName', value: 'siem.test' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const other = await selfsigned.generate([{ name: 'commonName', value: 'Some other CA' }], { keyType: 'ec', algorithm: 'sha256', notAfterDate, extensions: [{ name: 'basicConstraints', cA: true }] });
  const dir = mkdtempSync(join(tmpdir(), 'keydesk-syslog-'));
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  writeFileSync(join(dir, 'other-ca.pem'), other.cert);
  return { caFile: join(dir, 'ca.pem'), key: server.private, cert: server.cert, otherCaFile: join(dir, 'other-ca.pem') };
}

describe('syslog channel over TCP', () => {
  it('sends each record as an RFC 5424 message, octet-counted, facility 13, APP-NAME keydesk, MSGID the action, the OCSF event as MSG', async () => {
    const listener = track(await SyslogListener.start());
    const channel = channelFor({ SIEM_SYSLOG_URL: `tcp://127.0.0.1:${listener.port}` });
    const records = [FIXTURES.disclosure_intent, FIXTURES.disclosure_granted, FIXTURES.disclosure_refused, FIXTURES.alert];
    for (const record of records) await deliver(channel, record);

    const messages = await listener.received(records.length);
    expect(listener.connections).toHaveLength(1);
    messages.forEach((message, index) => {
      const record = records[index]!;
      expect(message).toMatchObject({ facility: 13, version: 1, hostname: 'keydesk-1.contoso.com', appName: 'keydesk', procId: String(process.pid), msgId: record.action, structuredData: '-', timestamp: record.time });
      expect(JSON.parse(message.msg)).toEqual(toOcsf(record));
    });
    expect(messages.map((message) => message.severity)).toEqual([6, 5, 4, 3]);
    expect(JSON.parse(messages[1]!.msg)).toMatchObject({ class_uid: 3004, entity: { uid: FIXTURES.disclosure_granted.recoveryKeyId }, metadata: { uid: FIXTURES.disclosure_granted.id } });
  });

  it('counts the frame length in bytes, so names outside ASCII do not break the framing', async () => {
    const listener = track(await SyslogListener.start());
    const channel = channelFor({ SIEM_SYSLOG_URL: `tcp://127.0.0.1:${listener.port}` });
    const record = { ...FIXTURES.sign_in_granted, caller: { ...FIXTURES.sign_in_granted.caller!, name: 'Zoë Ørsted-Łukasz 日本' } };
    await deliver(channel, record);
    await deliver(channel, FIXTURES.sign_out);
    const [first, second] = await listener.received(2);
    expect(JSON.parse(first!.msg).actor.user.full_name).toBe('Zoë Ørsted-Łukasz 日本');
    expect(second!.msgId).toBe('sign_out');
  });

  it('opens a new connection after the receiver drops the old one, and delivers there', async () => {
    const listener = track(await SyslogListener.start());
    const channel = channelFor({ SIEM_SYSLOG_URL: `tcp://127.0.0.1:${listener.port}` });
    await deliver(channel, FIXTURES.disclosure_intent);
    await listener.received(1);
    await listener.dropConnections();

    await deliver(channel, FIXTURES.disclosure_granted);
    const messages = await listener.received(2);
    expect(listener.connections).toHaveLength(2);
    expect(messages[1]!.msgId).toBe('disclosure');
  });

  it('rejects while no receiver listens, so the outbox keeps the record, and delivers once one is back', async () => {
    const port = await freePort();
    const channel = channelFor({ SIEM_SYSLOG_URL: `tcp://127.0.0.1:${port}` });
    await expect(deliver(channel, FIXTURES.alert)).rejects.toThrow(`cannot connect to the syslog receiver tcp://127.0.0.1:${port}`);

    const listener = track(await SyslogListener.start(undefined, port));
    await deliver(channel, FIXTURES.alert);
    expect((await listener.received(1))[0]!.msgId).toBe('alert');
  });

  it('sends nothing shaped like a recovery password, even from records with one planted in every text', async () => {
    const listener = track(await SyslogListener.start());
    const channel = channelFor({ SIEM_SYSLOG_URL: `tcp://127.0.0.1:${listener.port}` });
    const records = (Object.values(FIXTURES) as AuditRecord[]).flatMap((record) => [record, plantPasswords(record)]);
    for (const record of records) await deliver(channel, record);
    const messages = await listener.received(records.length);
    expect(messages.map((message) => message.msgId)).toEqual(records.map((record) => record.action));
    for (const message of messages) expect(message.msg).not.toMatch(RECOVERY_PASSWORD_PATTERN);
  });
});

describe('syslog channel over TLS', () => {
  it('checks the receiver against SIEM_SYSLOG_CA_FILE and sends the same frames over TLS', async () => {
    const certificates = await testCertificates();
    const listener = track(await SyslogListener.start({ key: certificates.key, cert: certificates.cert }));
    const channel = channelFor({ SIEM_SYSLOG_URL: `tls://127.0.0.1:${listener.port}`, SIEM_SYSLOG_CA_FILE: certificates.caFile });
    await deliver(channel, FIXTURES.disclosure_granted);
    await deliver(channel, FIXTURES.out_of_band_read);
    const messages = await listener.received(2);
    expect(messages.map((message) => [message.facility, message.appName, message.msgId])).toEqual([
      [13, 'keydesk', 'disclosure'],
      [13, 'keydesk', 'out_of_band_read'],
    ]);
    expect(JSON.parse(messages[0]!.msg).entity.uid).toBe(FIXTURES.disclosure_granted.recoveryKeyId);
  });

  it('refuses a receiver whose certificate another CA signed, sending nothing', async () => {
    const certificates = await testCertificates();
    const listener = track(await SyslogListener.start({ key: certificates.key, cert: certificates.cert }));
    const channel = channelFor({ SIEM_SYSLOG_URL: `tls://127.0.0.1:${listener.port}`, SIEM_SYSLOG_CA_FILE: certificates.otherCaFile });
    await expect(deliver(channel, FIXTURES.disclosure_granted)).rejects.toThrow(/cannot connect to the syslog receiver tls:\/\/127\.0\.0\.1:\d+: .*(certificate|verify)/i);
    expect(listener.messages).toEqual([]);
  });
});
