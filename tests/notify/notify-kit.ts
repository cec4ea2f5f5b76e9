import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';

/**
 * Real receivers for the notification tests: an HTTP webhook receiver that checks KeyDesk's
 * signature as the README tells receivers to, and an SMTP server (the smtp-server package).
 * Everything they receive is also written under test-artifacts/notifications/ for the secret scan.
 */

export const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef0123456789abcdef';

function keepForSecretScan(name: string, text: string): void {
  const folder = join(ARTIFACTS_DIR, 'notifications');
  mkdirSync(folder, { recursive: true });
  appendFileSync(join(folder, `${name}.txt`), `${text}\n`);
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
  /** The signature verified with WEBHOOK_SECRET and its timestamp is within 5 minutes. */
  verified: boolean;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** What it answers; 204 by default. */
  status: number;
  /** The answer to this one webhook, when it is not `status`. */
  statusFor?: (webhook: ReceivedWebhook) => number | undefined;
  /** Called with each webhook as it arrives, before the answer. */
  onReceive?: (webhook: ReceivedWebhook) => void;
  close(): Promise<void>;
}

/** The receiver's side of README's "Verifying a webhook": HMAC over "<t>.<raw body>", t within 5 minutes. */
export function verifySignature(header: string | undefined, raw: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300 || typeof parts.v1 !== 'string') return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookReceiver(name: string, secret = WEBHOOK_SECRET): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const receiver = { received, status: 204 } as WebhookReceiver;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      keepForSecretScan(`webhook-${name}`, raw);
      const webhook = { headers: request.headers, raw, body: JSON.parse(raw) as Record<string, unknown>, verified: verifySignature(request.headers['keydesk-signature'] as string | undefined, raw, secret) };
      received.push(webhook);
      receiver.onReceive?.(webhook);
      response.statusCode = receiver.statusFor?.(webhook) ?? receiver.status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keydesk`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** The connection was upgraded with STARTTLS (or was TLS from the start). */
  secure: boolean;
}

export interface MailServer {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

export async function startMailServer(name: string, options: SMTPServerOptions = {}, host = '127.0.0.1'): Promise<MailServer> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: options.key ? [] : ['STARTTLS'],
    logger: false,
    ...options,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        keepForSecretScan(`mail-${name}`, raw);
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          secure: session.secure,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Resolves once `check` holds, polling; fails the test after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the condition did not hold in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
