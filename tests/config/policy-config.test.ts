import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { MINIMAL_ENV, configProblems } from '../helpers/config.js';

describe('DISABLED_DEVICE_CHECK and DISABLED_REQUESTER_CHECK', () => {
  it('refuse disabled devices and requesters when unset', () => {
    expect(loadConfig(MINIMAL_ENV).policy).toMatchObject({ disabledDeviceCheck: 'enforce', disabledRequesterCheck: 'enforce' });
  });

  it('take warn for either, in any letter case', () => {
    expect(loadConfig({ ...MINIMAL_ENV, DISABLED_DEVICE_CHECK: 'warn' }).policy).toMatchObject({ disabledDeviceCheck: 'warn', disabledRequesterCheck: 'enforce' });
    expect(loadConfig({ ...MINIMAL_ENV, DISABLED_REQUESTER_CHECK: ' WARN ' }).policy).toMatchObject({ disabledDeviceCheck: 'enforce', disabledRequesterCheck: 'warn' });
  });

  it.each([
    ['DISABLED_DEVICE_CHECK', 'off', /^DISABLED_DEVICE_CHECK="off" is not valid: use enforce or warn \(enforce refuses a disabled device with device_disabled; warn discloses, but records and reports it\)$/],
    ['DISABLED_REQUESTER_CHECK', 'block', /^DISABLED_REQUESTER_CHECK="block" is not valid: use enforce or warn \(enforce refuses a requester whose account is disabled with requester_disabled; warn discloses, but records and reports it\)$/],
  ])('refuses %s=%j and lists the allowed values', (name, value, message) => {
    expect(configProblems({ ...MINIMAL_ENV, [name]: value })).toEqual([expect.stringMatching(message)]);
  });
});

describe('rate limits', () => {
  it('allow 60 disclosures per app, 5 per staff member, 120 searches per caller and 30 sign-in requests per address a minute when unset', () => {
    expect(loadConfig(MINIMAL_ENV).rateLimits).toEqual({ disclosuresPerMinute: 60, staffDisclosuresPerMinute: 5, searchesPerMinute: 120, signInsPerMinute: 30 });
  });

  it('take the limits given, 0 turning one off and 100000 the largest', () => {
    const config = loadConfig({
      ...MINIMAL_ENV,
      RATE_LIMIT_DISCLOSURES_PER_MINUTE: '600',
      RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE: '0',
      RATE_LIMIT_SEARCHES_PER_MINUTE: '100000',
      RATE_LIMIT_SIGN_INS_PER_MINUTE: '10',
    });
    expect(config.rateLimits).toEqual({ disclosuresPerMinute: 600, staffDisclosuresPerMinute: 0, searchesPerMinute: 100_000, signInsPerMinute: 10 });
  });

  it.each([
    ['RATE_LIMIT_DISCLOSURES_PER_MINUTE', '-1', /disclosure requests one calling app may make per minute/],
    ['RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE', '2.5', /disclosure attempts one staff member may make, in the web UI and through listed delegated API clients together, per minute/],
    ['RATE_LIMIT_SEARCHES_PER_MINUTE', '100001', /device searches and look-ups one caller may make per minute/],
    ['RATE_LIMIT_SIGN_INS_PER_MINUTE', 'ten', /requests to \/auth\/\* one client address may make per minute/],
  ])('refuses %s=%j and says what to set', (name, value, meaning) => {
    const problems = configProblems({ ...MINIMAL_ENV, [name]: value });
    expect(problems).toEqual([expect.stringContaining(`${name}=${JSON.stringify(value)} is not valid: set how many `)]);
    expect(problems[0]).toMatch(meaning);
    expect(problems[0]).toMatch(/\(0 turns this limit off\) \(a whole number from 0 to 100000\)$/);
  });
});
