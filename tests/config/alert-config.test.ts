import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { MINIMAL_ENV, configProblems } from '../helpers/config.js';

describe('the alert variables', () => {
  it('alert above 10 disclosures an hour, on a device again within 24 hours and above 5 refusals in 10 minutes when unset, without business hours', () => {
    expect(loadConfig(MINIMAL_ENV).alerts).toEqual({ disclosuresPerHour: 10, repeatDeviceHours: 24, businessHours: null, refusalsPer10Minutes: 5 });
  });

  it('take 0 to turn a rule off, and several business-hours ranges in an IANA zone', () => {
    const { alerts } = loadConfig({
      ...MINIMAL_ENV,
      ALERT_DISCLOSURES_PER_HOUR: '0',
      ALERT_REPEAT_DEVICE_HOURS: '0',
      ALERT_REFUSALS_PER_10_MINUTES: '0',
      BUSINESS_HOURS: 'Mon-Thu 07:00-19:00, Fri 07:00-15:00',
      BUSINESS_HOURS_TZ: 'America/New_York',
    });
    expect(alerts).toMatchObject({ disclosuresPerHour: 0, repeatDeviceHours: 0, refusalsPer10Minutes: 0 });
    expect(alerts.businessHours).toMatchObject({ text: 'Mon-Thu 07:00-19:00, Fri 07:00-15:00', timeZone: 'America/New_York' });
    expect(alerts.businessHours!.ranges.map((range) => [[...range.days], range.startMinute, range.endMinute])).toEqual([
      [[1, 2, 3, 4], 420, 1140],
      [[5], 420, 900],
    ]);
  });

  it.each([
    ['ALERT_DISCLOSURES_PER_HOUR', 'ten', /^ALERT_DISCLOSURES_PER_HOUR="ten" is not valid: set how many granted disclosures one agent or one app may have within an hour before an alert \(0 turns the rule off\) \(a whole number from 0 to 100000\)$/],
    ['ALERT_REPEAT_DEVICE_HOURS', '-1', /^ALERT_REPEAT_DEVICE_HOURS="-1" is not valid: set within how many hours .* \(a whole number from 0 to 720\)$/],
    ['ALERT_REFUSALS_PER_10_MINUTES', '2.5', /^ALERT_REFUSALS_PER_10_MINUTES="2.5" is not valid: set how many refused disclosures one caller may have within 10 minutes/],
    ['BUSINESS_HOURS', 'weekdays 9-5', /^BUSINESS_HOURS="weekdays 9-5" is not valid: use a day or day range and a 24-hour time range, .*"Mon-Fri 07:00-19:00"/],
    ['BUSINESS_HOURS', 'Mon-Fri 19:00-07:00', /^BUSINESS_HOURS="Mon-Fri 19:00-07:00" is not valid: .*start before end/],
    ['BUSINESS_HOURS', 'Mon-Fri 07:00-19:00,', /^BUSINESS_HOURS="Mon-Fri 07:00-19:00," is not valid/],
    ['BUSINESS_HOURS_TZ', 'Europe/Atlantis', /^BUSINESS_HOURS_TZ="Europe\/Atlantis" is not valid: use an IANA time zone name, e\.g\. Europe\/Berlin/],
  ])('refuses %s=%j, naming the variable and how to fix it', (name, value, message) => {
    expect(configProblems({ ...MINIMAL_ENV, BUSINESS_HOURS: 'Mon-Fri 07:00-19:00', [name]: value })).toEqual([expect.stringMatching(message)]);
  });
});
