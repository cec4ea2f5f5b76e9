import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { MINIMAL_ENV } from '../helpers/config.js';

const WITH_WEB_UI = { ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: 'x'.repeat(32) };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('self-service configuration', () => {
  it('is off by default, with three keys a day and the helpdesk to call', () => {
    expect(loadConfig(WITH_WEB_UI).selfService).toEqual({ enabled: false, groupId: null, authContext: null, disclosuresPerDay: 3, helpContact: 'your IT helpdesk' });
  });

  it('refuses SELF_SERVICE=on without PUBLIC_BASE_URL (a ConfigError: exit 78), naming what to set', () => {
    const problems = problemsOf({ ...MINIMAL_ENV, SELF_SERVICE: 'on' });
    expect(problems).toEqual([expect.stringMatching(/^SELF_SERVICE=on needs the web UI: set PUBLIC_BASE_URL/)]);
  });

  it('falls back to REQUIRE_AUTH_CONTEXT, and checks the group and the authentication context', () => {
    expect(loadConfig({ ...WITH_WEB_UI, SELF_SERVICE: 'on', REQUIRE_AUTH_CONTEXT: 'c1' }).selfService.authContext).toBe('c1');
    expect(loadConfig({ ...WITH_WEB_UI, SELF_SERVICE: 'on', REQUIRE_AUTH_CONTEXT: 'c1', SELF_SERVICE_AUTH_CONTEXT: 'c7' }).selfService.authContext).toBe('c7');
    const problems = problemsOf({ ...WITH_WEB_UI, SELF_SERVICE: 'yes', SELF_SERVICE_GROUP_ID: 'Helpdesk', SELF_SERVICE_AUTH_CONTEXT: 'mfa', SELF_SERVICE_DISCLOSURES_PER_DAY: '0' });
    expect(problems.map((p) => p.split('=')[0])).toEqual(['SELF_SERVICE', 'SELF_SERVICE_GROUP_ID', 'SELF_SERVICE_AUTH_CONTEXT', 'SELF_SERVICE_DISCLOSURES_PER_DAY']);
  });
});
