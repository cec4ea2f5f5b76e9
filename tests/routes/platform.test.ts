import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { MemoryAuditSink } from '../helpers/fakes.js';

describe('health, readiness, documentation and errors', () => {
  let harness: Harness;

  beforeEach(async () => {
    nock.disableNetConnect();
    harness = await buildHarness('platform');
  });

  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is live and ready while the audit trail is writable', async () => {
    expect((await harness.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await harness.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { audit: 'writable' } });
  });

  it('is not ready while the audit trail cannot be written', async () => {
    const audit = new MemoryAuditSink();
    audit.isWritable = async () => false;
    await harness.close();
    harness = await buildHarness('platform-not-ready', { audit });
    const ready = await harness.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'not_ready', checks: { audit: 'not_writable' } });
  });

  it('is not ready once the audit sink is closed', async () => {
    await harness.audit.close();
    expect((await harness.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
  });

  it('publishes an OpenAPI 3 document generated from the route schemas', async () => {
    const response = await harness.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1/devices', '/api/v1/devices/{deviceId}/recovery-keys', '/api/v1/disclosures']);
    const disclosure = doc.paths['/api/v1/disclosures'].post;
    expect(disclosure.requestBody.content['application/json'].schema.required).toEqual(['keyId', 'ticket', 'reason', 'requesterUpn']);
    expect(Object.keys(disclosure.responses)).toEqual(expect.arrayContaining(['201', '409', '422', '503']));
    expect(doc.components.securitySchemes.entra).toMatchObject({ type: 'http', scheme: 'bearer' });
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
