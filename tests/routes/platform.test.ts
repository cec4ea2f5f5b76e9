import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { MemoryAuditSink } from '../helpers/fakes.js';

const passingChecks = { identityProvider: async () => undefined, graphToken: async () => undefined };

describe('health, readiness, documentation and errors', () => {
  let harness: Harness;

  beforeEach(async () => {
    nock.disableNetConnect();
    harness = await buildHarness('platform', { deps: { readinessChecks: passingChecks } });
  });

  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is live at once, but not ready before its first background check', async () => {
    expect((await harness.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await harness.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'not_ready', checks: { audit: 'writable', identityProvider: 'pending', graphToken: 'pending' } });
  });

  it('is ready once Entra and a Graph token have been checked, while the audit trail is writable', async () => {
    await harness.app.readiness.checkNow();
    const ready = await harness.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { audit: 'writable', identityProvider: 'ok', graphToken: 'ok' } });
  });

  it('is not ready after two failed checks of Entra in a row', async () => {
    await harness.close();
    let failing = false;
    harness = await buildHarness('platform-entra-down', {
      deps: { readinessChecks: { identityProvider: async () => { if (failing) throw new Error('unreachable'); }, graphToken: async () => undefined } },
    });
    await harness.app.readiness.checkNow();
    failing = true;
    await harness.app.readiness.checkNow();
    expect((await harness.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await harness.app.readiness.checkNow();
    const ready = await harness.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.identityProvider).toBe('failing');
  });

  it('is not ready while the audit trail cannot be written', async () => {
    const audit = new MemoryAuditSink();
    audit.isWritable = async () => false;
    await harness.close();
    harness = await buildHarness('platform-not-ready', { audit, deps: { readinessChecks: passingChecks } });
    await harness.app.readiness.checkNow();
    const ready = await harness.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'not_ready', checks: { audit: 'not_writable', identityProvider: 'ok', graphToken: 'ok' } });
  });

  it('is not ready once the audit trail is closed', async () => {
    await harness.app.readiness.checkNow();
    await harness.audit.close();
    expect((await harness.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
  });

  it('logs health probes at debug, other requests at info', async () => {
    await harness.inject({ method: 'GET', url: '/healthz' });
    await harness.inject({ method: 'GET', url: '/readyz' });
    await harness.inject({ method: 'GET', url: '/openapi.json' });
    const requestLines = harness.logLines().filter((line) => line.msg === 'incoming request' || line.msg === 'request completed');
    const levels = (path: string) => requestLines.filter((line) => (line.req as { path?: string } | undefined)?.path === path).map((line) => line.level);
    expect(levels('/healthz')).toEqual(['debug']);
    expect(levels('/readyz')).toEqual(['debug']);
    expect(levels('/openapi.json')).toEqual(['info']);
    expect(requestLines.filter((line) => line.msg === 'request completed').map((line) => line.level)).toEqual(['debug', 'debug', 'info']);
  });

  it('publishes an OpenAPI 3 document generated from the route schemas', async () => {
    const response = await harness.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1/audit/reconciliation', '/api/v1/audit/reconciliation/run', '/api/v1/audit/records', '/api/v1/audit/records/{id}', '/api/v1/audit/signing-key', '/api/v1/audit/verification', '/api/v1/devices', '/api/v1/devices/{deviceId}/recovery-keys', '/api/v1/disclosures', '/api/v1/disclosures/{disclosureId}/rotation', '/api/v1/recovery-keys', '/api/v1/recovery-keys/sync', '/api/v1/reports/escrow-coverage', '/api/v1/reports/escrow-coverage/history', '/api/v1/rotations', '/healthz', '/readyz']);
    const disclosure = doc.paths['/api/v1/disclosures'].post;
    expect(disclosure.requestBody.content['application/json'].schema.required).toEqual(['keyId', 'ticket', 'reason', 'requesterUpn']);
    expect(Object.keys(disclosure.responses)).toEqual(['201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '500', '502', '503']);
    expect(disclosure.responses['422'].content).toEqual({ 'application/problem+json': expect.objectContaining({ schema: { $ref: '#/components/schemas/Problem' } }) });
    expect(doc.components.securitySchemes.entra).toMatchObject({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: expect.stringMatching(/\/oauth2\/v2\.0\/token$/) } } });
  });

  it('serves browsable API docs', async () => {
    const response = await harness.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('swagger');
  });

  it('answers an unknown route with a problem, not an HTML page', async () => {
    const response = await harness.inject({ method: 'GET', url: '/api/v2/anything?secret=1' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ code: 'not_found', instance: '/api/v2/anything' });
  });

  it('answers a malformed URL with a problem and the usual headers, without echoing it', async () => {
    const response = await harness.inject({ method: 'GET', url: '/api/v1/devices/%zz/recovery-keys' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().code).toBe('invalid_request');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).not.toContain('%zz');
  });

  it('turns away requests that arrive while shutting down with a problem', async () => {
    const closing = harness.app.close();
    const response = await harness.inject({ method: 'GET', url: '/healthz' });
    await closing;
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'shutting_down' });
    expect(response.headers['retry-after']).toBe('2');
  });

  it('sends security headers and no-store on every response', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json', '/nope']) {
      const response = await harness.inject({ method: 'GET', url });
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
