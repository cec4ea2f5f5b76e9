/**
 * BUSINESS_HOURS: the hours a helpdesk normally works, in one time zone (BUSINESS_HOURS_TZ), as
 * `Mon-Fri 07:00-19:00` or several ranges, `Mon-Thu 07:00-19:00, Fri 07:00-15:00`. The local time
 * of an instant is computed with Intl in that zone, so a change to or from summer time moves the
 * hours with the clocks on the wall, not with UTC.
 */

export interface BusinessHoursRange {
  /** ISO weekdays, 1 (Monday) to 7 (Sunday). */
  days: ReadonlySet<number>;
  /** Minutes after local midnight: start inclusive, end exclusive (24:00 is 1440). */
  startMinute: number;
  endMinute: number;
}

export interface BusinessHours {
  /** As configured, for messages and alerts. */
  text: string;
  timeZone: string;
  ranges: BusinessHoursRange[];
}

export interface LocalTime {
  /** ISO weekday, 1 (Monday) to 7 (Sunday). */
  weekday: number;
  minute: number;
  /** `Sat 03:12`, for a person. */
  label: string;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const RANGE = /^([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$/;

function weekdayNumber(name: string): number | null {
  const index = WEEKDAYS.findIndex((day) => day.toLowerCase() === name.toLowerCase());
  return index === -1 ? null : index + 1;
}

/** `Mon-Fri` (or `Fri-Mon`, wrapping over the weekend, or one day) as ISO weekdays. */
function dayRange(first: number, last: number): Set<number> {
  const days = new Set<number>();
  for (let day = first; ; day = (day % 7) + 1) {
    days.add(day);
    if (day === last) return days;
  }
}

function parseRange(text: string): BusinessHoursRange | null {
  const match = RANGE.exec(text.trim());
  if (match === null) return null;
  const [, from, to, startHour, startMin, endHour, endMin] = match;
  const first = weekdayNumber(from!);
  const last = to === undefined ? first : weekdayNumber(to);
  const startMinute = Number(startHour) * 60 + Number(startMin);
  const endMinute = Number(endHour) * 60 + Number(endMin);
  if (first === null || last === null || Number(startMin) > 59 || Number(endMin) > 59) return null;
  if (startMinute >= endMinute || endMinute > 24 * 60) return null;
  return { days: dayRange(first, last), startMinute, endMinute };
}

/** The ranges of a BUSINESS_HOURS value; null when any part of it is not a range. */
export function parseBusinessHours(text: string): BusinessHoursRange[] | null {
  const ranges = text.split(',').map(parseRange);
  return ranges.some((range) => range === null) ? null : (ranges as BusinessHoursRange[]);
}

/** True when Intl knows the IANA zone (e.g. Europe/Berlin). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The weekday and time on a wall clock in `timeZone` at `instant`. */
export function localTime(instant: Date, timeZone: string): LocalTime {
  const parts = Object.fromEntries(formatterFor(timeZone).formatToParts(instant).map((part) => [part.type, part.value]));
  const weekday = weekdayNumber(parts.weekday ?? '') ?? 1;
  const hour = Number(parts.hour) % 24;
  const minute = Number(parts.minute);
  return { weekday, minute: hour * 60 + minute, label: `${WEEKDAYS[weekday - 1]} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}` };
}

export function withinBusinessHours(local: LocalTime, hours: BusinessHours): boolean {
  return hours.ranges.some((range) => range.days.has(local.weekday) && local.minute >= range.startMinute && local.minute < range.endMinute);
}
