import { randomInt } from 'node:crypto';

/**
 * A random recovery password shaped like a real one: 8 groups of 6 digits, each group 11 × a
 * 16-bit number (so at most 720,885). Tests use these instead of fixtures so no real-looking
 * password is ever committed; never print one.
 */
export function fakeRecoveryPassword(): string {
  return Array.from({ length: 8 }, () => String(11 * randomInt(0, 65_536)).padStart(6, '0')).join('-');
}
