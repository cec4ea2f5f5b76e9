import type { AuditRecord } from '../audit/types.js';
import type { OcsfEvent, OcsfSeverityId } from './ocsf.js';

/**
 * One audit record as an RFC 5424 syslog message, framed by octet counting for TCP and TLS
 * (RFC 6587 section 3.4.1, RFC 5425 section 4.3): `<length in bytes> <message>`. The MSG is the
 * OCSF event as JSON in UTF-8, without the optional BOM: most collectors hand MSG to a JSON
 * parser, which a BOM would trip.
 */

/** Facility 13, "log audit". */
export const SYSLOG_FACILITY = 13;
export const SYSLOG_APP_NAME = 'keydesk';

/** OCSF severity to syslog severity: Informational 6, Low 5 (notice), Medium 4 (warning), High 3 (error). */
export const SYSLOG_SEVERITIES: Record<OcsfSeverityId, number> = { 1: 6, 2: 5, 3: 4, 4: 3 };

export interface SyslogHeader {
  hostname: string;
  procId: string;
}

export function syslogMessage(record: AuditRecord, event: OcsfEvent, header: SyslogHeader): string {
  const pri = SYSLOG_FACILITY * 8 + SYSLOG_SEVERITIES[event.severity_id];
  const timestamp = new Date(record.time).toISOString();
  const fields = [`<${pri}>1`, timestamp, headerField(header.hostname, 255), SYSLOG_APP_NAME, headerField(header.procId, 128), headerField(record.action, 32), '-'];
  return `${fields.join(' ')} ${JSON.stringify(event)}`;
}

export function octetCountedFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** RFC 5424 header fields are printable US-ASCII without spaces, or `-` (the NILVALUE). */
function headerField(value: string, maxLength: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '').slice(0, maxLength);
  return printable === '' ? '-' : printable;
}
