import { describe, expect, it } from 'vitest';
import { localTime, parseBusinessHours, withinBusinessHours, type BusinessHours } from '../../src/alerts/business-hours.js';

const hours = (text: string, timeZone: string): BusinessHours => ({ text, timeZone, ranges: parseBusinessHours(text)! });
const inside = (iso: string, business: BusinessHours) => withinBusinessHours(localTime(new Date(iso), business.timeZone), business);

describe('business hours', () => {
  it('reads the wall clock of the zone on both sides of the change to daylight saving time', () => {
    const newYork = hours('Mon-Fri 09:00-17:00', 'America/New_York');
    // 2026-03-08: New York moves from UTC-5 to UTC-4.
    expect(localTime(new Date('2026-03-06T13:30:00Z'), 'America/New_York').label).toBe('Fri 08:30');
    expect(inside('2026-03-06T13:30:00Z', newYork)).toBe(false);
    expect(localTime(new Date('2026-03-09T13:30:00Z'), 'America/New_York').label).toBe('Mon 09:30');
    expect(inside('2026-03-09T13:30:00Z', newYork)).toBe(true);
    expect(inside('2026-03-09T21:30:00Z', newYork)).toBe(false);
  });

  it('keeps several ranges apart, with the end of each range outside it', () => {
    const week = hours('Mon-Thu 07:00-19:00, Fri 07:00-15:00', 'UTC');
    expect(inside('2026-11-27T14:59:00Z', week)).toBe(true); // Fri 14:59
    expect(inside('2026-11-27T15:00:00Z', week)).toBe(false); // Fri 15:00
    expect(inside('2026-11-26T18:00:00Z', week)).toBe(true); // Thu 18:00
    expect(inside('2026-11-28T10:00:00Z', week)).toBe(false); // Sat
  });

  it('takes one day, a range wrapping over the weekend and 24:00 as the end of the day', () => {
    const weekend = hours('Sat-Sun 00:00-24:00, Wed 12:00-13:00', 'UTC');
    expect(inside('2026-11-29T23:59:00Z', weekend)).toBe(true); // Sun 23:59
    expect(inside('2026-11-25T12:30:00Z', weekend)).toBe(true); // Wed 12:30
    expect(inside('2026-11-30T00:00:00Z', weekend)).toBe(false); // Mon 00:00
    expect(parseBusinessHours('Fri-Mon 08:00-12:00')![0]!.days).toEqual(new Set([5, 6, 7, 1]));
  });

  it('refuses what is not a range: no days, minutes past 59, end after 24:00 or not after the start', () => {
    for (const text of ['07:00-19:00', 'Mon-Fri 07:60-19:00', 'Mon-Fri 07:00-24:30', 'Mon 12:00-12:00', 'Mon-Funday 07:00-19:00', '']) {
      expect(parseBusinessHours(text), text).toBeNull();
    }
  });
});
