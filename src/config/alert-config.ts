import { isKnownTimeZone, parseBusinessHours, type BusinessHours } from '../alerts/business-hours.js';

/**
 * The alert rules' variables (README: Alerts). Each threshold is how many are normal: one more
 * within the window raises the alert; 0 turns the rule off. BUSINESS_HOURS unset turns its rule off.
 */

export interface AlertConfig {
  /** ALERT_DISCLOSURES_PER_HOUR: granted disclosures one agent or one app may have in a sliding hour. */
  disclosuresPerHour: number;
  /** ALERT_REPEAT_DEVICE_HOURS: a device disclosed again within this many hours alerts. */
  repeatDeviceHours: number;
  /** BUSINESS_HOURS in BUSINESS_HOURS_TZ: a granted disclosure outside them alerts; null = off. */
  businessHours: BusinessHours | null;
  /** ALERT_REFUSALS_PER_10_MINUTES: refused disclosures one caller may have in a sliding 10 minutes. */
  refusalsPer10Minutes: number;
}

/** What of loadConfig's EnvReader this needs (structurally, so config.ts and this file import one way). */
export interface AlertEnvReader {
  text(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number, how: string): number;
  problem(message: string): void;
}

export const ALERTS_OFF: AlertConfig = { disclosuresPerHour: 0, repeatDeviceHours: 0, businessHours: null, refusalsPer10Minutes: 0 };

const BUSINESS_HOURS_HOW =
  'use a day or day range and a 24-hour time range, several separated by commas, e.g. "Mon-Fri 07:00-19:00" or "Mon-Thu 07:00-19:00, Fri 07:00-15:00" (days Mon to Sun, start before end, 24:00 for midnight at the end), or leave it unset to turn the rule off';

export function readAlertConfig(reader: AlertEnvReader): AlertConfig {
  return {
    disclosuresPerHour: reader.integer(
      'ALERT_DISCLOSURES_PER_HOUR',
      10,
      0,
      100_000,
      'set how many granted disclosures one agent or one app may have within an hour before an alert (0 turns the rule off)',
    ),
    repeatDeviceHours: reader.integer('ALERT_REPEAT_DEVICE_HOURS', 24, 0, 720, 'set within how many hours a second disclosure of the same device alerts (0 turns the rule off)'),
    businessHours: readBusinessHours(reader),
    refusalsPer10Minutes: reader.integer(
      'ALERT_REFUSALS_PER_10_MINUTES',
      5,
      0,
      100_000,
      'set how many refused disclosures one caller may have within 10 minutes before an alert (0 turns the rule off)',
    ),
  };
}

function readBusinessHours(reader: AlertEnvReader): BusinessHours | null {
  const timeZone = reader.text('BUSINESS_HOURS_TZ') ?? 'UTC';
  if (!isKnownTimeZone(timeZone)) {
    reader.problem(`BUSINESS_HOURS_TZ=${JSON.stringify(timeZone)} is not valid: use an IANA time zone name, e.g. Europe/Berlin or America/New_York (default UTC)`);
    return null;
  }
  const text = reader.text('BUSINESS_HOURS');
  if (text === undefined) return null;
  const ranges = parseBusinessHours(text);
  if (ranges === null) {
    reader.problem(`BUSINESS_HOURS=${JSON.stringify(text)} is not valid: ${BUSINESS_HOURS_HOW}`);
    return null;
  }
  return { text, timeZone, ranges };
}
