import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { MINIMAL_ENV, configProblems } from '../helpers/config.js';

const SECRET = 'x'.repeat(32);

describe('web UI configuration', () => {
  it('leaves the web UI off, and needs no session secret, without PUBLIC_BASE_URL', () => {
    expect(loadConfig(MINIMAL_ENV).web).toBeNull();
  });

  it('applies the documented defaults when PUBLIC_BASE_URL is set', () => {
    const config = loadConfig({ ...MINIMAL_ENV, PUBLIC_BASE_URL: 'https://keydesk.contoso.example/', SESSION_SECRET: SECRET, TRUST_PROXY_HOPS: '1' });
    expect(config.web).toEqual({
      publicBaseUrl: 'https://keydesk.contoso.example',
      sessionSecret: SECRET,
      secureCookies: true,
      sessionIdleMs: 15 * 60_000,
      sessionMaxMs: 8 * 3_600_000,
      reauthMaxAgeSeconds: 900,
      keyDisplaySeconds: 60,
    });
  });

  it('accepts plain http for localhost and 127.0.0.1 only, without Secure cookies', () => {
    expect(loadConfig({ ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: SECRET }).web).toMatchObject({ publicBaseUrl: 'http://127.0.0.1:8080', secureCookies: false });
    expect(loadConfig({ ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://localhost:8080', SESSION_SECRET: SECRET }).web?.secureCookies).toBe(false);
    expect(configProblems({ ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://keydesk.contoso.example', SESSION_SECRET: SECRET })).toEqual([expect.stringMatching(/^PUBLIC_BASE_URL=.* is not valid: use https/)]);
  });

  it.each([
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080' }, /^SESSION_SECRET is missing: .*at least 32 random characters/],
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: 'short' }, /^SESSION_SECRET is too short/],
    [{ PUBLIC_BASE_URL: 'keydesk.contoso.example', SESSION_SECRET: SECRET }, /^PUBLIC_BASE_URL="keydesk.contoso.example" is not valid: use the origin/],
    [{ PUBLIC_BASE_URL: 'https://keydesk.contoso.example/helpdesk', SESSION_SECRET: SECRET, TRUST_PROXY_HOPS: '1' }, /^PUBLIC_BASE_URL=.* is not valid: use the origin .* without a path/],
    [{ PUBLIC_BASE_URL: 'https://keydesk.contoso.example', SESSION_SECRET: SECRET }, /^TRUST_PROXY_HOPS=0 does not fit an https PUBLIC_BASE_URL/],
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: SECRET, SESSION_IDLE_MINUTES: '0' }, /^SESSION_IDLE_MINUTES="0" is not valid/],
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: SECRET, SESSION_MAX_HOURS: '48' }, /^SESSION_MAX_HOURS="48" is not valid/],
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: SECRET, REAUTH_MAX_AGE: '15m' }, /^REAUTH_MAX_AGE="15m" is not valid: .*in seconds/],
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: SECRET, REQUIRE_AUTH_CONTEXT: 'mfa' }, /^REQUIRE_AUTH_CONTEXT="mfa" is not valid: use the ID of a Conditional Access authentication context, c1 to c99/],
    [{ PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: SECRET, KEY_DISPLAY_SECONDS: '1' }, /^KEY_DISPLAY_SECONDS="1" is not valid/],
  ])('names the bad variable and how to fix it: %o', (env, message) => {
    expect(configProblems({ ...MINIMAL_ENV, ...env })).toEqual([expect.stringMatching(message)]);
  });

  it('takes the session timings and re-authentication age given, and the authentication context for the whole service', () => {
    const config = loadConfig({
      ...MINIMAL_ENV,
      PUBLIC_BASE_URL: 'http://localhost:8080',
      SESSION_SECRET: SECRET,
      SESSION_IDLE_MINUTES: '30',
      SESSION_MAX_HOURS: '10',
      REAUTH_MAX_AGE: '300',
      REQUIRE_AUTH_CONTEXT: 'c2',
      KEY_DISPLAY_SECONDS: '120',
    });
    expect(config.web).toMatchObject({ sessionIdleMs: 30 * 60_000, sessionMaxMs: 10 * 3_600_000, reauthMaxAgeSeconds: 300, keyDisplaySeconds: 120 });
    expect(config.requiredAuthContext).toBe('c2');
  });
});
