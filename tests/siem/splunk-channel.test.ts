import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/types.js';
import { readSiemConfig } from '../../src/config/siem-config.js';
import type { DeliveryChannel } from '../../src/notify/channel.js';
import { toOcsf } from '../../src/siem/ocsf.js';
import { createSplunkChannel } from '../../src/siem/splunk-channel.js';
import { freePort } from '../helpers/net.js';
import { ARTIFACTS_DIR, RECOVERY_PASSWORD_PATTERN } from '../helpers/secret-scan.js';
import { FIXTURES, plantPasswords } from './fixtures.js';

const TOKEN = '5f1e8c2a-9b3d-4e7f-a6c1-0d2e4f6a8b9c';

interface Received {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** An HTTP Event Collector as Splunk answers: the token checked, `{"text":"Success","code":0}` when taken. */
class HecCollector {
  readonly received: Received[] = [];
  /** Answers to give instead of success, in turn. */
  readonly failures: Array<{ status: number; body: string }> = [];
  private readonly artifact = join(ARTIFACTS_DIR, 'siem', `hec-${process.pid}-${Date.now()}.jsonl`);

  private constructor(private readonly server: Server) {}

  static async start(): Promise<HecCollector> {
    mkdirSync(join(ARTIFACTS_DIR, 'siem'), { recursive: true });
    const server = createServer();
    const collector = new HecCollector(server);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        appendFileSync(collector.artifact, `${text}\n`);
        const answer = collector.answer(request.url ?? '', request.headers.authorization, request.headers['content-type'], text);
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return collector;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/services/collector/event`;
  }

  private answer(path: string, authorization: string | undefined, contentType: string | undefined, text: string): { status: number; body: string } {
    if (authorization === undefined) return { status: 401, body: '{"text":"Token is required","code":2}' };
    if (authorization !== `Splunk ${TOKEN}`) return { status: 403, body: '{"text":"Invalid token","code":4}' };
    const failure = this.failures.shift();
    if (failure !== undefined) return failure;
    this.received.push({ path, authorization, contentType, body: JSON.parse(text) as Record<string, unknown> });
    return { status: 200, body: '{"text":"Success","code":0}' };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const cleanUps: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanUp of cleanUps.splice(0).reverse()) await cleanUp();
});

function channelFor(url: string, token = TOKEN): DeliveryChannel {
  const problems: string[] = [];
  const env: Record<string, string> = { SIEM_SPLUNK_HEC_URL: url, SIEM_SPLUNK_HEC_TOKEN: token };
  const config = readSiemConfig({ text: (name) => env[name], problem: (message) => problems.push(message) });
  expect(problems).toEqual([]);
  const channel = createSplunkChannel({ target: config.splunk!, hostname: 'keydesk-1.contoso.com' });
  cleanUps.push(() => channel.close());
  return channel;
}

async function collector(): Promise<HecCollector> {
  const started = await HecCollector.start();
  cleanUps.push(() => started.stop());
  return started;
}

const deliver = (channel: DeliveryChannel, record: AuditRecord) => channel.deliver(record, AbortSignal.timeout(10_000));

describe('Splunk HTTP Event Collector channel', () => {
  it('posts each record as a HEC event with the token, source keydesk, sourcetype keydesk:ocsf and the OCSF event', async () => {
    const hec = await collector();
    const channel = channelFor(hec.url);
    await deliver(channel, FIXTURES.disclosure_granted);
    await deliver(channel, FIXTURES.sign_in_refused);

    expect(hec.received).toHaveLength(2);
    const [disclosure, signIn] = hec.received;
    expect(disclosure).toMatchObject({ path: '/services/collector/event', authorization: `Splunk ${TOKEN}`, contentType: 'application/json' });
    expect(disclosure!.body).toEqual({
      time: Date.parse(FIXTURES.disclosure_granted.time) / 1000,
      host: 'keydesk-1.contoso.com',
      source: 'keydesk',
      sourcetype: 'keydesk:ocsf',
      event: toOcsf(FIXTURES.disclosure_granted),
    });
    expect(signIn!.body.event).toMatchObject({ class_uid: 3002, status_code: 'forbidden' });
  });

  it('rejects a wrong token with what HEC said, without repeating the token', async () => {
    const hec = await collector();
    const channel = channelFor(hec.url, 'not-the-token');
    const failure = deliver(channel, FIXTURES.alert);
    await expect(failure).rejects.toThrow(/did not take the event: HTTP 403, code 4 "Invalid token" \(the token is not valid: check SIEM_SPLUNK_HEC_TOKEN\)/);
    await expect(failure).rejects.not.toThrow(/not-the-token/);
    expect(hec.received).toEqual([]);
  });

  it('counts only a 2xx with code 0 as delivered, so a busy collector gets the record again', async () => {
    const hec = await collector();
    const channel = channelFor(hec.url);
    hec.failures.push({ status: 503, body: '{"text":"Server is busy","code":9}' }, { status: 200, body: '{"text":"Something else","code":6}' });
    await expect(deliver(channel, FIXTURES.alert)).rejects.toThrow('HTTP 503, code 9 "Server is busy"');
    await expect(deliver(channel, FIXTURES.alert)).rejects.toThrow('HTTP 200, code 6');
    await deliver(channel, FIXTURES.alert);
    expect(hec.received.map((received) => (received.body.event as { metadata: { uid: string } }).metadata.uid)).toEqual([FIXTURES.alert.id]);
  });

  it('rejects while the collector cannot be reached', async () => {
    const channel = channelFor(`http://127.0.0.1:${await freePort()}/services/collector/event`);
    await expect(deliver(channel, FIXTURES.alert)).rejects.toThrow(/Splunk HEC at http:\/\/127\.0\.0\.1:\d+ could not be reached/);
  });

  it('sends nothing shaped like a recovery password, even from records with one planted in every text', async () => {
    const hec = await collector();
    const channel = channelFor(hec.url);
    const records = (Object.values(FIXTURES) as AuditRecord[]).flatMap((record) => [record, plantPasswords(record)]);
    for (const record of records) await deliver(channel, record);
    expect(hec.received).toHaveLength(records.length);
    for (const received of hec.received) expect(JSON.stringify(received.body)).not.toMatch(RECOVERY_PASSWORD_PATTERN);
  });
});
