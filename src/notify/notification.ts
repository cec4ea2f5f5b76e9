import type { AuditRecord } from '../audit/types.js';
import { notificationTypeOf, type NotificationType } from './channel.js';

/**
 * One notification as every notification channel words it, built from one audit record and from
 * nothing else: the record never holds a recovery password, so no notification can. The event id
 * is the record's id, the same on every retry, so a receiver drops a repeat by it.
 *
 * The synchronous notice of a required channel (NOTIFY_*_REQUIRED) is built from the disclosure's
 * intent record, written before the key is read: its type is `disclosure_granted` (the key is
 * about to be given) and its id the intent record's id. The outbox then leaves that disclosure's
 * granted outcome out for the required channel, which has heard of it already.
 */

export interface KeyDeskEvent {
  /** The event id: the audit record's id, stable across retries. */
  id: string;
  type: NotificationType;
  time: string;
  auditRecordId: string;
  seq: number;
  hash: string;
  device: AuditRecord['device'];
  requesterUpn: string | null;
  ticket: string | null;
  agentUpn: string | null;
  caller: AuditRecord['caller'];
  /** The disclosure the record belongs to: it links a required channel's notice to the failure that may follow it. */
  disclosureId: string | null;
  /** For an `alert`: which rule fired and its one sentence, so a receiver can route it without calling the API. */
  alert?: { rule: string; summary: string };
}

/**
 * A disclosure that ended without the key, refused or failed, after its intent record was written
 * (its Graph client-request-id is set only then): a required channel was, or may have been, told the key was being given, and
 * must hear that it was not, whatever NOTIFY_EVENTS lists.
 */
export function notGivenAfterNotice(record: AuditRecord): boolean {
  return record.action === 'disclosure' && record.outcome !== 'granted' && record.graphClientRequestId !== null;
}

/** The type a record is notified as: an intent record is the synchronous notice of a disclosure. */
export function noticeTypeOf(record: AuditRecord): NotificationType | null {
  if (record.action === 'disclosure_intent') return 'disclosure_granted';
  return notificationTypeOf(record);
}

/** Whether NOTIFY_EVENTS asks for this record. */
export function wantedByEvents(record: AuditRecord, events: readonly NotificationType[]): boolean {
  const type = notificationTypeOf(record);
  return type !== null && events.includes(type);
}

export function keydeskEvent(record: AuditRecord): KeyDeskEvent {
  return {
    id: record.id,
    type: noticeTypeOf(record) ?? 'alert',
    time: record.time,
    auditRecordId: record.id,
    seq: record.seq,
    hash: record.hash,
    device: record.device,
    requesterUpn: record.requesterUpn,
    ticket: record.ticket,
    agentUpn: record.agentUpn,
    caller: record.caller,
    disclosureId: record.disclosureId ?? null,
    ...(record.action === 'alert' ? { alert: { rule: String(record.details?.rule ?? 'unknown'), summary: alertSummary(record) } } : {}),
  };
}

/** The device as a person reads it: its name, else its device ID. */
export function deviceLabel(record: AuditRecord): string {
  return record.device?.displayName ?? record.device?.deviceId ?? 'an unknown device';
}

/** Who acted: the agent, else the calling app, else the caller's UPN. */
export function actorLabel(record: AuditRecord): string {
  if (record.agentUpn) return record.agentUpn;
  const caller = record.caller;
  if (caller?.kind === 'app') return `the app ${caller.name ?? caller.appId ?? caller.oid ?? 'unknown'}`;
  return caller?.upn ?? caller?.name ?? 'someone';
}

/** One line saying what happened, for a chat message, a mail subject or a title. */
export function headline(record: AuditRecord): string {
  const device = deviceLabel(record);
  const ticket = record.ticket ? ` under ticket ${record.ticket}` : '';
  switch (noticeTypeOf(record)) {
    case 'disclosure_granted':
      // A required channel's notice comes before the read: it says so, and a failure notice follows if the read fails.
      if (record.action === 'disclosure_intent') return `The recovery key of ${device} is being given to ${actorLabel(record)}${ticket}`;
      return `The recovery key of ${device} was given to ${actorLabel(record)}${ticket}`;
    case 'disclosure_refused':
      return `KeyDesk ${record.outcome === 'failed' ? 'could not disclose' : 'refused to disclose'} the recovery key of ${device} to ${actorLabel(record)} (${record.code ?? 'no code'})`;
    case 'sign_in_refused':
      return `A sign-in to KeyDesk was refused (${record.code ?? 'no code'}) for ${actorLabel(record)}`;
    default:
      return `Alert: ${alertSummary(record)}`;
  }
}

/** An alert record's own sentence (alert-entry.ts puts it in details.summary). */
export function alertSummary(record: AuditRecord): string {
  const summary = record.details?.summary;
  return typeof summary === 'string' ? summary : `${String(record.details?.rule ?? record.action)}`;
}

/** The facts a security reader wants, as label/value pairs, nulls left out. */
export function factsOf(record: AuditRecord): [string, string][] {
  const facts: [string, string | null | undefined][] = [
    ['Device', record.device?.displayName],
    ['Device ID', record.device?.deviceId],
    ['Requester', record.requesterUpn],
    ['Ticket', record.ticket],
    ['Agent', record.agentUpn],
    ['Door', record.door === 'self_service' ? 'self-service (the employee, for their own device)' : null],
    ['Caller', record.caller ? [record.caller.upn ?? record.caller.name ?? record.caller.appId, record.caller.ip].filter(Boolean).join(' from ') : null],
    ['Code', record.code],
    ['Time', record.time],
    ['Audit record', `${record.id} (seq ${record.seq})`],
  ];
  return facts.filter((fact): fact is [string, string] => typeof fact[1] === 'string' && fact[1] !== '');
}
