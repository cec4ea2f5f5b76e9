import { describe, expect, it } from 'vitest';
import { MINIMAL_ENV, configProblems, testConfig } from '../helpers/config.js';

describe('rotation configuration', () => {
  it('rotates on request, checks every 300 s and calls a rotation overdue after 72 hours by default', () => {
    expect(testConfig().rotation).toEqual({ mode: 'request', checkSeconds: 300, deadlineMs: 72 * 3_600_000 });
  });

  it('takes off, auto, the shortest check and a deadline in decimal hours', () => {
    expect(testConfig({ ROTATE_AFTER_DISCLOSURE: 'AUTO', ROTATION_CHECK_SECONDS: '5', ROTATION_DEADLINE_HOURS: '0.001' }).rotation).toEqual({ mode: 'auto', checkSeconds: 5, deadlineMs: 3_600 });
    expect(testConfig({ ROTATE_AFTER_DISCLOSURE: 'off', ROTATION_DEADLINE_HOURS: '1.5' }).rotation).toMatchObject({ mode: 'off', deadlineMs: 5_400_000 });
    expect(testConfig({ ROTATION_DEADLINE_HOURS: '.5' }).rotation.deadlineMs).toBe(1_800_000);
  });

  it('names each bad variable and what to set', () => {
    const problems = configProblems({ ...MINIMAL_ENV, ROTATE_AFTER_DISCLOSURE: 'sometimes', ROTATION_CHECK_SECONDS: '4', ROTATION_DEADLINE_HOURS: '0.0001' });
    expect(problems).toEqual([
      expect.stringMatching(/^ROTATE_AFTER_DISCLOSURE="sometimes" is not valid: use off, request or auto/),
      expect.stringMatching(/^ROTATION_CHECK_SECONDS="4" is not valid: .* \(a whole number from 5 to 86400\)$/),
      expect.stringMatching(/^ROTATION_DEADLINE_HOURS="0.0001" is not valid: .*from 0.001 to 8760, decimals allowed/),
    ]);
    expect(configProblems({ ...MINIMAL_ENV, ROTATION_DEADLINE_HOURS: '-1' })).toEqual([expect.stringMatching(/^ROTATION_DEADLINE_HOURS="-1" is not valid/)]);
  });
});
