import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { MINIMAL_ENV, configProblems } from '../helpers/config.js';

const CLIENT_ID = MINIMAL_ENV.AZURE_CLIENT_ID;
const HELPDESK_TOOL = '0f6c1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5';
const ITSM_PLUGIN = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...MINIMAL_ENV, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration loaded');
}

describe('API_AUDIENCE', () => {
  it('accepts api://<client ID> and the bare client ID when unset', () => {
    expect(loadConfig(MINIMAL_ENV).apiAudiences).toEqual([`api://${CLIENT_ID}`, CLIENT_ID]);
  });

  it('takes a comma-separated list with spaces around the commas, keeping trailing slashes as written', () => {
    const config = loadConfig({ ...MINIMAL_ENV, API_AUDIENCE: ' api://keydesk.contoso.com/ ,  https://keydesk.contoso.com,api://keydesk ' });
    expect(config.apiAudiences).toEqual(['api://keydesk.contoso.com/', 'https://keydesk.contoso.com', 'api://keydesk', CLIENT_ID]);
  });

  it('lists each audience once, however often it is configured', () => {
    const config = loadConfig({ ...MINIMAL_ENV, API_AUDIENCE: `api://keydesk, api://keydesk, ${CLIENT_ID}` });
    expect(config.apiAudiences).toEqual(['api://keydesk', CLIENT_ID]);
  });

  it.each([
    ['api://keydesk,,api://other', /^API_AUDIENCE="api:\/\/keydesk,,api:\/\/other" has an empty item: list the App ID URIs .*separated by commas/],
    ['api://keydesk,', /^API_AUDIENCE="api:\/\/keydesk," has an empty item: list the App ID URIs/],
    ['api://keydesk api://other', /^API_AUDIENCE item "api:\/\/keydesk api:\/\/other" is not valid: an App ID URI has no spaces; list the App ID URIs .*separated by commas/],
  ])('refuses API_AUDIENCE=%j and says how to write the list', (value, message) => {
    expect(refusal({ API_AUDIENCE: value }).problems).toEqual([expect.stringMatching(message)]);
  });
});

describe('API_USER_TOKEN_CLIENTS', () => {
  it('accepts no delegated token from any client when unset', () => {
    expect(loadConfig(MINIMAL_ENV).apiUserTokenClients).toEqual([]);
  });

  it('takes client IDs separated by commas, in lower case and each once', () => {
    const config = loadConfig({ ...MINIMAL_ENV, API_USER_TOKEN_CLIENTS: `${HELPDESK_TOOL.toUpperCase()} , ${ITSM_PLUGIN},${HELPDESK_TOOL}` });
    expect(config.apiUserTokenClients).toEqual([HELPDESK_TOOL, ITSM_PLUGIN]);
  });

  it('names every item that is not a client ID, and says what to list instead', () => {
    const error = refusal({ API_USER_TOKEN_CLIENTS: `${HELPDESK_TOOL}, keydesk-cli, api://itsm` });
    expect(error.problems).toEqual([
      expect.stringMatching(/^API_USER_TOKEN_CLIENTS item "keydesk-cli" is not valid: list the Application \(client\) IDs, GUIDs, of the client apps .*separated by commas/),
      expect.stringMatching(/^API_USER_TOKEN_CLIENTS item "api:\/\/itsm" is not valid: /),
    ]);
    expect(error.message).toMatch(/2 configuration problems/);
  });

  it('refuses an empty item', () => {
    expect(configProblems({ ...MINIMAL_ENV, API_USER_TOKEN_CLIENTS: `${HELPDESK_TOOL},,${ITSM_PLUGIN}` })).toEqual([
      expect.stringMatching(/^API_USER_TOKEN_CLIENTS=".*" has an empty item: list the Application \(client\) IDs/),
    ]);
  });
});

describe('REQUIRE_AUTH_CONTEXT', () => {
  it('requires no authentication context when unset', () => {
    expect(loadConfig(MINIMAL_ENV).requiredAuthContext).toBeNull();
  });

  it('applies to the API alone too, without the web UI', () => {
    const config = loadConfig({ ...MINIMAL_ENV, REQUIRE_AUTH_CONTEXT: 'c25' });
    expect(config.web).toBeNull();
    expect(config.requiredAuthContext).toBe('c25');
  });

  it.each(['mfa', 'c0', 'c100', 'C1'])('refuses REQUIRE_AUTH_CONTEXT=%j without the web UI, naming where to find the ID', (value) => {
    expect(refusal({ REQUIRE_AUTH_CONTEXT: value }).problems).toEqual([
      expect.stringMatching(/^REQUIRE_AUTH_CONTEXT=".*" is not valid: use the ID of a Conditional Access authentication context, c1 to c99 \(Entra admin center > Protection > Conditional Access > Authentication contexts\)/),
    ]);
  });
});
