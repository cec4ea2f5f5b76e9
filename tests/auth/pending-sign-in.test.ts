import { describe, expect, it } from 'vitest';
import { PendingSignInSeal, type PendingSignIn } from '../../src/auth/pending-sign-in.js';

const SECRET = 'a-test-session-secret-of-more-than-32-characters';

function pending(startedAt: number): PendingSignIn {
  return { state: 's'.repeat(43), nonce: 'n'.repeat(43), codeVerifier: 'v'.repeat(43), returnTo: '/devices/6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f', maxAge: 900, authContext: null, startedAt };
}

describe('the pending sign-in cookie', () => {
  it('opens what it sealed, and hides what it holds', () => {
    let clock = 1_000_000;
    const seal = new PendingSignInSeal(SECRET, () => clock);
    const sealed = seal.seal(pending(clock));
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toMatch(/devices|vvvv|nnnn/);
    clock += 9 * 60_000;
    expect(seal.open(sealed)).toEqual(pending(1_000_000));
  });

  it('refuses a cookie older than 10 minutes, changed by one byte, or sealed under another SESSION_SECRET', () => {
    let clock = 1_000_000;
    const seal = new PendingSignInSeal(SECRET, () => clock);
    const sealed = seal.seal(pending(clock));
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(seal.open(bytes.toString('base64url'))).toBeNull();
    expect(new PendingSignInSeal(`${SECRET}-other`, () => clock).open(sealed)).toBeNull();
    expect(seal.open('not-a-cookie')).toBeNull();
    expect(seal.open(undefined)).toBeNull();
    clock += 10 * 60_000 + 1;
    expect(seal.open(sealed)).toBeNull();
  });
});
