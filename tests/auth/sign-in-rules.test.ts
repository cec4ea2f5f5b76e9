import { describe, expect, it } from 'vitest';
import { authContextClaimsRequest, checkRevealSignIn } from '../../src/auth/sign-in-freshness.js';
import { safeReturnTo } from '../../src/auth/return-to.js';

const NOW = Date.parse('2025-06-02T10:00:00Z');
const secondsAgo = (s: number) => Math.floor(NOW / 1000) - s;

describe('whether a sign-in may reveal a key', () => {
  const policy = { reauthMaxAgeSeconds: 900, requiredAuthContext: null };

  it('accepts a sign-in no older than REAUTH_MAX_AGE', () => {
    expect(checkRevealSignIn({ authTime: secondsAgo(900), acrs: [] }, policy, NOW)).toBe('ok');
  });

  it('asks for a fresh sign-in when the last one is older', () => {
    expect(checkRevealSignIn({ authTime: secondsAgo(901), acrs: [] }, policy, NOW)).toBe('reauthenticate');
  });

  it('counts a sign-in without auth_time as stale', () => {
    expect(checkRevealSignIn({ authTime: null, acrs: ['c1'] }, policy, NOW)).toBe('reauthenticate');
  });

  it('asks for step-up when the authentication context is missing from acrs', () => {
    const stepUp = { ...policy, requiredAuthContext: 'c1' };
    expect(checkRevealSignIn({ authTime: secondsAgo(10), acrs: [] }, stepUp, NOW)).toBe('step_up');
    expect(checkRevealSignIn({ authTime: secondsAgo(10), acrs: ['c2'] }, stepUp, NOW)).toBe('step_up');
    expect(checkRevealSignIn({ authTime: secondsAgo(10), acrs: ['c2', 'c1'] }, stepUp, NOW)).toBe('ok');
  });

  it('asks for a fresh sign-in before a step-up when both are missing', () => {
    expect(checkRevealSignIn({ authTime: secondsAgo(3600), acrs: [] }, { ...policy, requiredAuthContext: 'c1' }, NOW)).toBe('reauthenticate');
  });

  it('asks Entra for the authentication context as an essential acrs claim', () => {
    expect(JSON.parse(authContextClaimsRequest('c1'))).toEqual({
      id_token: { acrs: { essential: true, value: 'c1' } },
      access_token: { acrs: { essential: true, value: 'c1' } },
    });
  });
});

describe('where a sign-in returns to', () => {
  it.each([
    ['/', '/'],
    ['/?name=O%27NEIL-PC&match=prefix', '/?name=O%27NEIL-PC&match=prefix'],
    ['/devices/6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f', '/devices/6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'],
    ['/my/disclosures', '/my/disclosures'],
    ['/devices/../my/disclosures', '/my/disclosures'],
    ['/audit', '/audit'],
    ['/audit?deviceName=LAPTOP-X&outcome=granted&colour=red&cursor=abc', '/audit?outcome=granted&deviceName=LAPTOP-X'],
    ['/audit/records/6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f', '/audit/records/6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'],
    ['/reports/escrow-coverage', '/reports/escrow-coverage'],
    ['/rotations?state=overdue&limit=20&cursor=abc', '/rotations?state=overdue&limit=20'],
  ])('keeps the KeyDesk page %s', (raw, expected) => {
    expect(safeReturnTo(raw)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '//evil.example/path',
    'https://evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    '/\r\nx',
    '/auth/sign-in?returnTo=/auth/sign-in',
    '/api/v1/devices',
    'devices',
    '',
    undefined,
    ['/', '/x'],
    `/${'a'.repeat(3000)}`,
    // Forms that only become another site once normalised (dot segments, encodings, backslashes).
    '/./\\evil.example',
    '/.//evil.example',
    '/x/..//evil.example',
    '/%2e%2e//evil.example',
    '/%2F%2Fevil.example',
    '/%5C%5Cevil.example',
    '/\t/evil.example',
    '/devices/abc/reveal',
    '/devices/6d2e5c8f/../../..//evil.example',
    '/docs',
    '/openapi.json',
    '/audit/export.csv',
    '/audit/records/x/../../../api/v1/audit/records',
  ])('lands %j on the home page instead', (raw) => {
    expect(safeReturnTo(raw)).toBe('/');
  });

  it('never produces a Location a browser reads as another host', () => {
    const tricky = ['/./\\evil.example', '/.//evil.example', '/x/..//evil.example', '/%2e%2e//evil.example', '/.%2F/evil.example', '/devices/..//evil.example'];
    for (const raw of tricky) {
      const location = safeReturnTo(raw);
      expect(new URL(location, 'https://keydesk.contoso.com').host).toBe('keydesk.contoso.com');
      expect(location.startsWith('//')).toBe(false);
    }
  });
});
