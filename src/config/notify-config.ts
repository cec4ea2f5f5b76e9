import { readFileSync } from 'node:fs';
import { NOTIFICATION_TYPES as NOTIFICATION_EVENTS, type NotificationType as NotificationEvent } from '../notify/channel.js';
import type { EnvReader } from './config.js';

/**
 * Notifications (README, "Notifications"): which events are sent, the webhook and email channels,
 * which of them must accept the notice of a disclosure before the key is read, and how long the
 * outbox keeps retrying. A channel is on when its address is set; a REQUIRED channel that is not
 * configured is a start-up error, not a silent no-op.
 */

export type WebhookFormat = 'keydesk' | 'slack' | 'teams';
const WEBHOOK_FORMATS: readonly WebhookFormat[] = ['keydesk', 'slack', 'teams'];

export interface WebhookConfig {
  url: string;
  /** HMAC-SHA-256 key of `KeyDesk-Signature`; at least 32 characters. */
  secret: string;
  format: WebhookFormat;
  required: boolean;
}

export interface EmailConfig {
  /** `smtp://` (STARTTLS required off loopback) or `smtps://` (implicit TLS); may hold user:password. */
  smtpUrl: string;
  /** PEM of a private CA the relay's certificate chains to (SMTP_CA_FILE); null trusts the system's CAs. */
  ca: string | null;
  from: string;
  /** The security mailbox(es). */
  to: string[];
  /** Also mail the device's owners, its Intune primary user and the requester. */
  owners: boolean;
  required: boolean;
}

export interface NotifyConfig {
  events: NotificationEvent[];
  /** How long after a record its notification is retried before it is marked failed (an alert). */
  retryHours: number;
  /** How long a required channel has to accept the notice of a disclosure. */
  requiredTimeoutMs: number;
  webhook: WebhookConfig | null;
  email: EmailConfig | null;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** Loopback hosts: the only ones a webhook may reach without TLS, or a relay without STARTTLS. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
export const SECRET_HOW = 'use at least 32 random characters, e.g. the output of `openssl rand -hex 32`, and give the receiver the same value';

export function readNotifyConfig(reader: EnvReader): NotifyConfig {
  const webhook = readWebhook(reader);
  const email = readEmail(reader);
  return {
    events: readEvents(reader),
    retryHours: reader.integer('NOTIFY_RETRY_HOURS', 24, 1, 168, 'set how many hours a notification is retried before it is marked failed'),
    requiredTimeoutMs: reader.integer('NOTIFY_REQUIRED_TIMEOUT_MS', 5000, 100, 60_000, 'set how long a required channel has to accept the notice before the disclosure is refused, in milliseconds'),
    webhook,
    email,
  };
}

function readEvents(reader: EnvReader): NotificationEvent[] {
  const how = `list one or more of ${NOTIFICATION_EVENTS.join(', ')}, separated by commas`;
  const listed = reader.list('NOTIFY_EVENTS', how);
  if (listed === undefined) return ['disclosure_granted'];
  const unknown = listed.filter((event) => !(NOTIFICATION_EVENTS as readonly string[]).includes(event.toLowerCase()));
  if (unknown.length > 0) reader.problem(`NOTIFY_EVENTS names ${unknown.map((event) => JSON.stringify(event)).join(', ')}, which KeyDesk does not send: ${how}`);
  return NOTIFICATION_EVENTS.filter((event) => listed.some((item) => item.toLowerCase() === event));
}

function readSwitch(reader: EnvReader, name: string, fallback: boolean, meaning: string): boolean {
  return reader.oneOf(name, ['true', 'false', 'on', 'off'] as const, fallback ? 'true' : 'false', meaning).match(/^(true|on)$/) !== null;
}

function readWebhook(reader: EnvReader): WebhookConfig | null {
  const raw = reader.text('NOTIFY_WEBHOOK_URL');
  const secret = reader.text('NOTIFY_WEBHOOK_SECRET');
  const format = reader.oneOf('NOTIFY_WEBHOOK_FORMAT', WEBHOOK_FORMATS, 'keydesk', 'keydesk is the signed JSON event; slack a Slack incoming-webhook message; teams an Adaptive Card for a Teams Workflows webhook');
  const required = readSwitch(reader, 'NOTIFY_WEBHOOK_REQUIRED', false, 'true holds every disclosure back until the webhook accepted its notice');
  if (raw === undefined) {
    if (required) reader.problem('NOTIFY_WEBHOOK_REQUIRED=true but NOTIFY_WEBHOOK_URL is not set: set the webhook URL, or set NOTIFY_WEBHOOK_REQUIRED=false');
    if (secret !== undefined) reader.problem('NOTIFY_WEBHOOK_SECRET is set but NOTIFY_WEBHOOK_URL is not: set the URL the notifications go to, or remove the secret');
    return null;
  }
  const url = webhookUrl(reader, raw);
  if (secret === undefined) reader.problem(`NOTIFY_WEBHOOK_SECRET is missing: the webhook's notifications are signed with it; ${SECRET_HOW}`);
  return url === null ? null : { url, secret: secret ?? '', format, required };
}

function webhookUrl(reader: EnvReader, raw: string): string | null {
  const how = 'use an https:// URL (http:// is for a receiver on the same host or private network), e.g. https://hooks.contoso.com/keydesk';
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    return url.toString();
  } catch {
    reader.problem(`NOTIFY_WEBHOOK_URL=${JSON.stringify(withoutSecrets(raw))} is not valid: ${how}`);
    return null;
  }
}

/** The URL with any password and query (a webhook's token often sits there) left out of messages. */
function withoutSecrets(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '<not a URL>';
  }
}

function readEmail(reader: EnvReader): EmailConfig | null {
  const raw = reader.text('SMTP_URL');
  const required = readSwitch(reader, 'NOTIFY_EMAIL_REQUIRED', false, 'true holds every disclosure back until the mail relay accepted its notice');
  const owners = readSwitch(reader, 'NOTIFY_OWNERS', true, "on also mails the device's owners, its primary user and the requester");
  const fromHow = 'the address the notices come from, e.g. keydesk@contoso.com';
  const toHow = 'the security mailbox, e.g. security@contoso.com (several separated by commas)';
  const listed = { from: reader.list('NOTIFY_EMAIL_FROM', `set ${fromHow}`), to: reader.list('NOTIFY_EMAIL_TO', `set ${toHow}`), ca: reader.text('SMTP_CA_FILE') };
  if (raw === undefined) {
    if (required) reader.problem('NOTIFY_EMAIL_REQUIRED=true but SMTP_URL is not set: set the mail relay (SMTP_URL, NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO), or set NOTIFY_EMAIL_REQUIRED=false');
    const stray = (['NOTIFY_EMAIL_FROM', 'NOTIFY_EMAIL_TO', 'SMTP_CA_FILE'] as const).filter((name) => reader.text(name) !== undefined);
    if (stray.length > 0) reader.problem(`${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} set but SMTP_URL is not: set SMTP_URL to the mail relay, or remove ${stray.length === 1 ? 'it' : 'them'}`);
    return null;
  }
  const smtpUrl = readSmtpUrl(reader, raw);
  const from = addresses(reader, 'NOTIFY_EMAIL_FROM', listed.from, fromHow);
  const to = addresses(reader, 'NOTIFY_EMAIL_TO', listed.to, toHow);
  if (from.length > 1) reader.problem(`NOTIFY_EMAIL_FROM lists ${from.length} addresses: set one, ${fromHow}`);
  return smtpUrl === null ? null : { smtpUrl, ca: readCaFile(reader, listed.ca), from: from[0] ?? '', to, owners, required };
}

function readSmtpUrl(reader: EnvReader, raw: string): string | null {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error('scheme');
    if (url.hostname === '') throw new Error('host');
    return url.toString();
  } catch {
    reader.problem(
      `SMTP_URL=${JSON.stringify(withoutSecrets(raw))} is not valid: use smtps://host:465 (implicit TLS) or smtp://host:587 (STARTTLS, required unless the host is loopback), with user:password@ before the host when the relay wants a login`,
    );
    return null;
  }
}

function addresses(reader: EnvReader, name: string, listed: string[] | undefined, what: string): string[] {
  if (listed === undefined) {
    reader.problem(`${name} is missing (SMTP_URL is set): set ${what}`);
    return [];
  }
  const bad = listed.filter((address) => !ADDRESS.test(address));
  if (bad.length > 0) reader.problem(`${name} has ${bad.map((address) => JSON.stringify(address)).join(', ')}, which is not an email address: set ${what}`);
  return listed.filter((address) => ADDRESS.test(address));
}

function readCaFile(reader: EnvReader, path: string | undefined): string | null {
  if (path === undefined) return null;
  try {
    const pem = readFileSync(path, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (error) {
    reader.problem(`SMTP_CA_FILE=${JSON.stringify(path)} cannot be used (${(error as Error).message}): point it at the PEM file of the CA that signed the mail relay's certificate, or unset it to trust the system's CAs`);
    return null;
  }
}
