import type { AuditEntry, AuditRecord } from '../audit/types.js';
import type { AlertConfig } from '../config/alert-config.js';
import { alertEntry } from './alert-entry.js';
import type { AlertCheck } from './alert-rules.js';

/**
 * The alert record of a check that fired: the rule, the subject, one sentence for the person on
 * call, the window and the counts, and the members of the outcome record that set it off (never
 * a password: outcome records hold none).
 */

function who(check: AlertCheck): string {
  const [kind, ...rest] = check.subject.id.split(':');
  const value = rest.join(':');
  if (kind === 'agent') return `Agent ${value}`;
  if (kind === 'staff') return `Staff member ${value}`;
  if (kind === 'app') return `App ${value}`;
  return `Device ${value}`;
}

function deviceName(record: AuditRecord): string {
  return record.device?.displayName ?? record.device?.deviceId ?? 'the device';
}

function summaryOf(check: AlertCheck, record: AuditRecord, observed: number, config: AlertConfig): string {
  switch (check.rule) {
    case 'disclosures_per_hour':
      return `${who(check)} was given ${observed} recovery keys within an hour, more than ALERT_DISCLOSURES_PER_HOUR=${config.disclosuresPerHour}.`;
    case 'repeat_device':
      return `The recovery key of ${deviceName(record)} was disclosed ${observed} times within ${config.repeatDeviceHours} hours (ALERT_REPEAT_DEVICE_HOURS).`;
    case 'outside_business_hours':
      return `${who(check)} was given the recovery key of ${deviceName(record)} at ${check.local?.label} ${config.businessHours?.timeZone}, outside business hours (${config.businessHours?.text}).`;
    default:
      return `${who(check)} was refused ${observed} disclosures within 10 minutes, more than ALERT_REFUSALS_PER_10_MINUTES=${config.refusalsPer10Minutes}: someone may be guessing key IDs or requesters.`;
  }
}

export function alertRecordOf(check: AlertCheck, record: AuditRecord, observed: number, config: AlertConfig): AuditEntry {
  const to = Date.parse(record.time);
  const outsideHours = check.rule === 'outside_business_hours' && config.businessHours !== null;
  return alertEntry({
    rule: check.rule,
    subject: check.subject.id,
    summary: summaryOf(check, record, observed, config),
    details: {
      window: { from: new Date(to - check.windowMs).toISOString(), to: record.time, minutes: check.windowMs / 60_000 },
      counts: check.counted ? { [check.counted.outcome]: observed, threshold: check.counted.limit } : { granted: 1 },
      trigger: { auditRecordId: record.id, seq: record.seq },
      ...(outsideHours ? { businessHours: { hours: config.businessHours!.text, timeZone: config.businessHours!.timeZone, localTime: check.local?.label } } : {}),
    },
    related: {
      disclosureId: record.disclosureId,
      caller: record.caller,
      agentUpn: record.agentUpn,
      requesterUpn: record.requesterUpn,
      ticket: record.ticket,
      device: record.device,
      recoveryKeyId: record.recoveryKeyId,
      door: record.door,
    },
  });
}
