import { createTransport } from 'nodemailer';
import type { AuditRecord } from '../audit/types.js';
import { isLoopbackHost, type EmailConfig } from '../config/notify-config.js';
import type { GraphGateway } from '../graph/types.js';
import type { DeliveryChannel, NotificationType } from './channel.js';
import { ownerAddresses } from './email-recipients.js';
import { deviceLabel, factsOf, headline, noticeTypeOf, wantedByEvents } from './notification.js';

/**
 * The email channel (nodemailer over SMTP_URL): one notice to the security mailbox
 * (NOTIFY_EMAIL_TO) with the facts of the record, and, for a disclosure with NOTIFY_OWNERS=on, a
 * short one to the device's owners, its primary user and the requester, so the person whose
 * device it is hears that its key was given out. `smtp://` must upgrade with STARTTLS unless the
 * relay is on loopback; `smtps://` is TLS from the first byte. Delivered means the relay
 * answered 250 to the message and accepted every security recipient.
 */

type Transporter = ReturnType<typeof createTransport>;
type MailMessage = Parameters<Transporter['sendMail']>[0];

const CONNECT_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

function transportOf(config: EmailConfig): Transporter {
  const url = new URL(config.smtpUrl);
  const implicitTls = url.protocol === 'smtps:';
  return createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (implicitTls ? 465 : 587) : Number(url.port),
    secure: implicitTls,
    // Off loopback a relay that does not offer STARTTLS is refused, rather than sent the notice in clear.
    requireTLS: !implicitTls && !isLoopbackHost(url.hostname),
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    tls: { minVersion: 'TLSv1.2', ...(config.ca ? { ca: config.ca } : {}) },
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
}

/** The security mailbox's message: what happened and every fact of the record. */
/** A headline as a sentence: one full stop at the end, not two. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function securityText(record: AuditRecord): string {
  const lines = [sentence(headline(record)), '', ...factsOf(record).map(([label, value]) => `${label}: ${value}`), '', `KeyDesk event id: ${record.id}`];
  return `${lines.join('\n')}\n`;
}

/** Before the read (a required channel's notice) the key is being given; after it, it was given. */
function ownerSubject(record: AuditRecord): string {
  // Through self-service the key went to the signed-in employee, not to the helpdesk.
  const to = record.door === 'self_service' ? `${record.requesterUpn ?? 'its owner'} through self-service` : 'the helpdesk';
  return `The recovery key of ${deviceLabel(record)} ${record.action === 'disclosure_intent' ? 'is being' : 'was'} given to ${to}`;
}

/** The owners' message: short, in plain words, with what to do if it was not them. */
function ownerText(record: AuditRecord): string {
  const ticket = record.ticket ? ` under ticket ${record.ticket}` : '';
  return (
    `${ownerSubject(record)}${ticket}` +
    `${record.requesterUpn && record.door !== 'self_service' ? ` at the request of ${record.requesterUpn}` : ''} (${record.time}).\n\n` +
    'If you did not ask for it, call security.\n'
  );
}

async function sendOrAbort(transport: Transporter, message: MailMessage, signal: AbortSignal): Promise<{ rejected: unknown[] }> {
  signal.throwIfAborted();
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('the mail relay did not accept the notice in time')), { once: true }));
  const info = (await Promise.race([transport.sendMail(message), aborted])) as { rejected?: unknown[] };
  return { rejected: info.rejected ?? [] };
}

export interface EmailChannelOptions {
  config: EmailConfig;
  events: readonly NotificationType[];
  graph: GraphGateway;
}

export function emailChannel({ config, events, graph }: EmailChannelOptions): DeliveryChannel {
  const transport = transportOf(config);
  const common = (record: AuditRecord, role: string) => ({ from: config.from, headers: { 'KeyDesk-Event-Id': record.id }, messageId: `<${record.id}.${role}@keydesk>` });
  return {
    name: 'email',
    wants: (record) => wantedByEvents(record, events),
    async deliver(record, signal) {
      // The owners are looked up first: a Graph failure then retries the whole notice, rather than re-sending the security mail on every attempt.
      const owners = config.owners && noticeTypeOf(record) === 'disclosure_granted' ? await ownerAddresses(record, graph) : [];
      const security = await sendOrAbort(transport, { ...common(record, 'security'), to: config.to, subject: `KeyDesk: ${headline(record).replace(/\.$/, '')}`, text: securityText(record) }, signal);
      if (security.rejected.length > 0) throw new Error(`the mail relay refused ${security.rejected.length} of the security recipients (NOTIFY_EMAIL_TO)`);
      if (owners.length === 0) return;
      await sendOrAbort(transport, { ...common(record, 'owners'), to: owners, subject: ownerSubject(record), text: ownerText(record) }, signal);
    },
    close: async () => transport.close(),
  };
}
