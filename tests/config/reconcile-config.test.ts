import { describe, expect, it } from 'vitest';
import { MINIMAL_ENV, configProblems, testConfig } from '../helpers/config.js';

describe('reconciliation configuration', () => {
  it('runs every 15 minutes with a 60-minute grace by default, and 0 turns the timer off', () => {
    expect(testConfig().reconcile).toEqual({ intervalMinutes: 15, graceMinutes: 60 });
    expect(testConfig({ RECONCILE_INTERVAL_MINUTES: '0' }).reconcile.intervalMinutes).toBe(0);
  });

  it('names each bad variable and what to set', () => {
    const problems = configProblems({ ...MINIMAL_ENV, RECONCILE_INTERVAL_MINUTES: 'hourly', RECONCILE_GRACE_MINUTES: '0' });
    expect(problems).toEqual([
      expect.stringMatching(/^RECONCILE_INTERVAL_MINUTES="hourly" is not valid: set how often .* \(a whole number from 0 to 1440\)$/),
      expect.stringMatching(/^RECONCILE_GRACE_MINUTES="0" is not valid: .* \(a whole number from 1 to 10080\)$/),
    ]);
  });
});
