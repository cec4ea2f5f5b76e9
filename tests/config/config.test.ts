import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { MINIMAL_ENV, configProblems } from '../helpers/config.js';

describe('configuration', () => {
  it('names every missing variable at once, with how to fix it', () => {
    const problems = configProblems({});
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^AZURE_TENANT_ID is missing: .*Directory \(tenant\) ID/);
    expect(problems[1]).toMatch(/^AZURE_CLIENT_ID is missing: .*Application \(client\) ID/);
    expect(problems[2]).toMatch(/AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is missing/);
  });

  it('applies the documented defaults', () => {
    const config = loadConfig(MINIMAL_ENV);
    expect(config).toMatchObject({
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com',
      apiAudiences: [`api://${MINIMAL_ENV.AZURE_CLIENT_ID}`, MINIMAL_ENV.AZURE_CLIENT_ID],
      apiUserTokenClients: [],
      requiredAuthContext: null,
      host: '0.0.0.0',
      port: 8080,
      logLevel: 'info',
      audit: { file: './data/audit.jsonl', hmacKey: null },
      graph: { retryBudgetMs: 10_000, requestTimeoutMs: 5_000 },
      deviceCacheTtlMs: 30_000,
      policy: { requesterCheck: 'enforce', disabledDeviceCheck: 'enforce', disabledRequesterCheck: 'enforce' },
      rateLimits: { disclosuresPerMinute: 60, staffDisclosuresPerMinute: 5, searchesPerMinute: 120, signInsPerMinute: 30 },
      bodyLimitBytes: 8_192,
      trustProxyHops: 0,
      web: null,
    });
  });

  it('takes a sovereign cloud authority and Graph host, without trailing slashes', () => {
    const config = loadConfig({ ...MINIMAL_ENV, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us/', GRAPH_BASE_URL: 'https://dod-graph.microsoft.us' });
    expect(config.authorityHost).toBe('https://login.microsoftonline.us');
    expect(config.graphBaseUrl).toBe('https://dod-graph.microsoft.us');
  });

  it.each([
    ['AZURE_TENANT_ID', 'not a tenant!', /AZURE_TENANT_ID="not a tenant!" is not valid/],
    ['AZURE_CLIENT_ID', 'keydesk', /AZURE_CLIENT_ID="keydesk" is not valid: .*GUID/],
    ['AZURE_AUTHORITY_HOST', 'http://login.microsoftonline.com', /AZURE_AUTHORITY_HOST=.* is not valid: use the https URL/],
    ['GRAPH_BASE_URL', 'graph.microsoft.com', /GRAPH_BASE_URL=.* is not valid/],
    ['PORT', '80a', /PORT="80a" is not valid/],
    ['PORT', '70000', /PORT="70000" is not valid/],
    ['GRAPH_RETRY_BUDGET_MS', '-1', /GRAPH_RETRY_BUDGET_MS="-1" is not valid/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud" is not valid: use fatal, error, warn, info, debug, trace or silent/],
    ['REQUESTER_CHECK', 'maybe', /REQUESTER_CHECK="maybe" is not valid: use enforce, warn or off/],
    ['TICKET_PATTERN', '([', /TICKET_PATTERN="\(\[" is not a valid regular expression/],
    ['AUDIT_HMAC_KEY', 'short', /AUDIT_HMAC_KEY is too short/],
  ])('refuses a bad %s and names it', (name, value, message) => {
    const problems = configProblems({ ...MINIMAL_ENV, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('refuses both a secret and a certificate', () => {
    expect(configProblems({ ...MINIMAL_ENV, AZURE_CLIENT_CERTIFICATE_PATH: '/x.pem' })[0]).toMatch(/both set/);
  });

  it('loads a certificate credential from a PEM holding the certificate and its key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keydesk-cert-'));
    const pem = join(dir, 'keydesk.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=KeyDesk'], { stdio: 'ignore' });
    writeFileSync(pem, readFileSync(join(dir, 'c.pem'), 'utf8') + readFileSync(join(dir, 'k.pem'), 'utf8'));
    const { AZURE_CLIENT_SECRET: _omit, ...withoutSecret } = MINIMAL_ENV;
    const config = loadConfig({ ...withoutSecret, AZURE_CLIENT_CERTIFICATE_PATH: pem });
    expect(config.clientCredential.kind).toBe('certificate');
    if (config.clientCredential.kind === 'certificate') expect(config.clientCredential.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);

    writeFileSync(pem, readFileSync(join(dir, 'c.pem'), 'utf8'));
    expect(configProblems({ ...withoutSecret, AZURE_CLIENT_CERTIFICATE_PATH: pem })[0]).toMatch(/no private key found/);
    expect(configProblems({ ...withoutSecret, AZURE_CLIENT_CERTIFICATE_PATH: join(dir, 'missing.pem') })[0]).toMatch(/cannot read the file \(ENOENT\)/);
  });

  it('accepts a custom API audience besides the bare client ID', () => {
    expect(loadConfig({ ...MINIMAL_ENV, API_AUDIENCE: 'api://keydesk.contoso.com' }).apiAudiences).toEqual(['api://keydesk.contoso.com', MINIMAL_ENV.AZURE_CLIENT_ID]);
  });
});
