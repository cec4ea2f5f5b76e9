import { describe, expect, it } from 'vitest';
import { LogOncePerMinute } from '../../src/web/log-once.js';

describe('one log line a minute per client address', () => {
  it('allows one line per address a minute', () => {
    let clock = 0;
    const once = new LogOncePerMinute(() => clock);
    expect(once.allow('203.0.113.1')).toBe(true);
    expect(once.allow('203.0.113.1')).toBe(false);
    expect(once.allow('203.0.113.2')).toBe(true);
    clock += 60_000;
    expect(once.allow('203.0.113.1')).toBe(true);
  });

  it('stays bounded when the addresses keep changing', () => {
    const once = new LogOncePerMinute(() => 0);
    for (let i = 0; i < 30_000; i++) once.allow(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    // The first addresses were forgotten to make room: they may log again.
    expect(once.allow('10.0.0.0')).toBe(true);
    // The newest are still remembered.
    expect(once.allow(`10.0.${(29_999 >> 8) & 255}.${29_999 & 255}`)).toBe(false);
  });
});
