import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, isProductionEnvironment, loadConfig, type Env } from '../../src/config/config.js';
import { MINIMAL_ENV } from '../helpers/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WITH_WEB_UI = { ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: 'x'.repeat(32) };

/** Every variable name the configuration looks up, with the web UI on so its variables are read too. */
function variablesRead(): string[] {
  const seen = new Set<string>();
  const env = new Proxy<Env>(
    { ...WITH_WEB_UI },
    {
      get(target, name) {
        if (typeof name === 'string') seen.add(name);
        return typeof name === 'string' ? target[name] : undefined;
      },
    },
  );
  loadConfig(env);
  isProductionEnvironment(env);
  return [...seen].sort();
}

/** The names in .env.example, set or commented out (`# NAME=example`). */
function envExampleVariables(): string[] {
  const text = readFileSync(`${ROOT}.env.example`, 'utf8');
  return [...text.matchAll(/^(?:#\s*)?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]!).sort();
}

/** The variables .env.example sets to a value (not commented out, not blank). */
function envExampleValues(): Record<string, string> {
  const text = readFileSync(`${ROOT}.env.example`, 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]+)=(.+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

/** The rows of the table in the README's "Configuration" section: variable and default column. */
function readmeTable(): Array<{ name: string; fallback: string }> {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (.+?) \| .* \|$/gm)].map((match) => ({ name: match[1]!, fallback: match[2]! }));
}

function readmeTableVariables(): string[] {
  return readmeTable().map((row) => row.name).sort();
}

describe('documented configuration', () => {
  it('lists every variable KeyDesk reads in .env.example, once, and nothing else', () => {
    const read = variablesRead();
    expect(read).toContain('RATE_LIMIT_SIGN_INS_PER_MINUTE');
    expect(envExampleVariables()).toEqual(read);
  });

  it('lists every variable KeyDesk reads in the README configuration table, once, and nothing else', () => {
    expect(readmeTableVariables()).toEqual(variablesRead());
  });

  it('gives the defaults as the values in .env.example, so copying it changes nothing', () => {
    const values = envExampleValues();
    expect(Object.keys(values)).toContain('RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE');
    expect(loadConfig({ ...values, ...WITH_WEB_UI })).toEqual(loadConfig(WITH_WEB_UI));
  });

  it('gives the same defaults in the README table as in .env.example', () => {
    const values = envExampleValues();
    const documented = readmeTable()
      .filter((row) => values[row.name] !== undefined)
      .map((row) => [row.name, row.fallback.replace(/^`(.*)`$/, '$1').replaceAll('\\|', '|')]);
    expect(documented).toEqual(documented.map(([name]) => [name, values[name!]]));
    expect(documented.length).toBe(Object.keys(values).length);
  });

  it('points a refused start-up to both', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/See \.env\.example and the configuration table in README\.md\./);
  });
});

describe('every problem at once', () => {
  it('names each bad new variable in one refusal, with what to do', () => {
    let error: unknown;
    try {
      loadConfig({
        ...MINIMAL_ENV,
        API_AUDIENCE: 'api://keydesk,,',
        API_USER_TOKEN_CLIENTS: 'keydesk-cli',
        REQUIRE_AUTH_CONTEXT: 'mfa',
        DISABLED_DEVICE_CHECK: 'off',
        DISABLED_REQUESTER_CHECK: 'off',
        RATE_LIMIT_DISCLOSURES_PER_MINUTE: 'many',
        RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE: '-5',
        RATE_LIMIT_SEARCHES_PER_MINUTE: '1e3',
        RATE_LIMIT_SIGN_INS_PER_MINUTE: '999999',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems.map((problem) => problem.match(/^[A-Z_]+/)?.[0])).toEqual([
      'API_AUDIENCE',
      'API_USER_TOKEN_CLIENTS',
      'REQUIRE_AUTH_CONTEXT',
      'DISABLED_DEVICE_CHECK',
      'DISABLED_REQUESTER_CHECK',
      'RATE_LIMIT_DISCLOSURES_PER_MINUTE',
      'RATE_LIMIT_STAFF_DISCLOSURES_PER_MINUTE',
      'RATE_LIMIT_SEARCHES_PER_MINUTE',
      'RATE_LIMIT_SIGN_INS_PER_MINUTE',
    ]);
    expect(message).toMatch(/^KeyDesk cannot start: 9 configuration problems:\n/);
    for (const problem of problems) expect(message).toContain(`  - ${problem}`);
  });
});
