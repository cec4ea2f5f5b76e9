import { auditEntry } from '../audit/entry.js';
import type { AuditEntry } from '../audit/types.js';

/**
 * The one shape of an `alert` record, whichever part of KeyDesk raises it: the rule, the subject
 * it is about (an agent, an app, a device, a caller, a channel, a key ID — never a secret) and the
 * rule's own facts in `details`. The outbox notifies every channel that takes `alert` events.
 */

export type AlertRule =
  | 'disclosures_per_hour'
  | 'repeat_device'
  | 'outside_business_hours'
  | 'refusals_per_10_minutes'
  | 'notification_failed'
  | 'out_of_band_read'
  | 'rotation_failed'
  | 'rotation_overdue';

export interface AlertFacts {
  rule: AlertRule;
  /** Who or what the alert is about, e.g. `agent:ann@contoso.com`, `device:<deviceId>`, `channel:webhook`. */
  subject: string;
  /** One sentence a person on call understands. */
  summary: string;
  /** The rule's own facts (counts, window, threshold, the records concerned). */
  details?: Record<string, unknown>;
  /** Members of the record that set the alert off worth carrying over (device, caller, disclosureId…). */
  related?: Partial<Pick<AuditEntry, 'disclosureId' | 'caller' | 'agentUpn' | 'requesterUpn' | 'ticket' | 'device' | 'recoveryKeyId' | 'door'>>;
}

export function alertEntry(facts: AlertFacts): AuditEntry {
  const related = facts.related ?? {};
  return auditEntry({
    action: 'alert',
    outcome: 'raised',
    code: null,
    door: related.door ?? null,
    disclosureId: related.disclosureId ?? null,
    caller: related.caller ?? null,
    agentUpn: related.agentUpn ?? null,
    requesterUpn: related.requesterUpn ?? null,
    ticket: related.ticket ?? null,
    device: related.device ?? null,
    recoveryKeyId: related.recoveryKeyId ?? null,
    details: { rule: facts.rule, subject: facts.subject, summary: facts.summary, ...facts.details },
  });
}
