import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import nock from 'nock';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ALL_PROBLEM_CODES, PROBLEM_CODES, type ProblemCode } from '../../src/problem/problem.js';
import { DISCLOSURE_REASONS } from '../../src/disclosure/input.js';
import { KEYDESK_ROLES } from '../../src/auth/roles.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { mockTokenEndpoint } from '../helpers/graph-fixtures.js';
import { mockGraphTenant, tenantDevice, user } from '../helpers/graph-tenant.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';
import { RECOVERY_PASSWORD_PATTERN } from '../helpers/secret-scan.js';

/** The parts of an OpenAPI 3.1 document these tests read. */
type Json = Record<string, unknown>;
interface Media {
  schema: Json;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}
interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  'x-keydesk-app-roles'?: string[];
  parameters?: { name: string; in: string; schema: Json; example?: unknown }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
}
interface OpenApiDocument {
  servers: { url: string }[];
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
  paths: Record<string, Record<string, Operation>>;
}

const ROOT = join(import.meta.dirname, '..', '..');
const ann = user('ann.lee@contoso.com');
const API_OPERATIONS = ['findDevices', 'listRecoveryKeys', 'discloseRecoveryKey', 'getAuditSigningKey', 'listAuditRecords', 'getAuditRecord', 'getAuditVerification', 'getReconciliation', 'runReconciliation'];

function operations(doc: OpenApiDocument): { path: string; method: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));
}

function operationById(doc: OpenApiDocument, id: string): Operation {
  const found = operations(doc).find(({ operation }) => operation.operationId === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found.operation;
}

/** JSON pointer of a member, as a URI fragment (`~1` for `/`, percent-encoding for `{`). */
const pointer = (segments: (string | number)[]) => `#${segments.map((s) => `/${encodeURIComponent(String(s).replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('')}`;

interface Example {
  where: string;
  schemaAt: string;
  value: unknown;
}

/** Every example in the document, with the pointer of the schema it illustrates. */
function examplesOf(node: unknown, at: (string | number)[] = []): Example[] {
  if (typeof node !== 'object' || node === null) return [];
  const found: Example[] = [];
  const here = node as Json;
  const isMediaOrParameter = 'schema' in here && typeof here.schema === 'object';
  if (isMediaOrParameter && 'example' in here) found.push({ where: pointer([...at, 'example']), schemaAt: pointer([...at, 'schema']), value: here.example });
  if (isMediaOrParameter && here.examples && !Array.isArray(here.examples)) {
    for (const [name, example] of Object.entries(here.examples as Record<string, { value: unknown }>)) {
      found.push({ where: pointer([...at, 'examples', name]), schemaAt: pointer([...at, 'schema']), value: example.value });
    }
  }
  // A Schema Object's own `examples` (JSON Schema 2020-12): an array of values it accepts.
  if (!isMediaOrParameter && Array.isArray(here.examples)) {
    here.examples.forEach((value, i) => found.push({ where: pointer([...at, 'examples', i]), schemaAt: pointer(at), value }));
  }
  for (const [key, child] of Object.entries(here)) {
    if (key === 'examples' || key === 'example') continue;
    found.push(...examplesOf(child, [...at, key]));
  }
  return found;
}

/** Every string schema with a `pattern` in the operations' input, with where a value goes. */
function patternedInputs(doc: OpenApiDocument): { operationId: string; location: string; name: string; pattern: string }[] {
  return operations(doc).flatMap(({ operation }) => {
    const id = operation.operationId ?? '';
    const parameters = (operation.parameters ?? [])
      .filter((p) => typeof p.schema.pattern === 'string')
      .map((p) => ({ operationId: id, location: p.in === 'query' ? 'querystring' : 'params', name: p.name, pattern: p.schema.pattern as string }));
    const body = operation.requestBody?.content['application/json']?.schema.properties as Record<string, Json> | undefined;
    const members = Object.entries(body ?? {})
      .filter(([, schema]) => typeof schema.pattern === 'string')
      .map(([name, schema]) => ({ operationId: id, location: 'body', name, pattern: schema.pattern as string }));
    return [...parameters, ...members];
  });
}

function documentValidator(doc: OpenApiDocument) {
  const ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true, validateSchema: false }));
  ajv.addSchema(doc, 'openapi.json');
  return ajv;
}

describe('the OpenAPI document', () => {
  let signingKey: SigningKey;
  let harness: Harness;

  const documentOf = async (h: Harness) => (await h.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDocument;

  beforeAll(async () => {
    signingKey = await makeSigningKey();
  });

  beforeEach(() => {
    nock.disableNetConnect();
  });

  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('names every operation with a unique operationId', async () => {
    harness = await buildHarness('openapi-ids');
    const ids = operations(await documentOf(harness)).map(({ operation }) => operation.operationId);
    expect(ids.sort()).toEqual(['discloseRecoveryKey', 'findDevices', 'findRecoveryKeysByKeyId', 'getAuditRecord', 'getAuditSigningKey', 'getAuditVerification', 'getEscrowCoverage', 'getEscrowCoverageHistory', 'getKeyIndexSync', 'getReconciliation', 'listAuditRecords', 'listRecoveryKeys', 'listRotations', 'liveness', 'readiness', 'rotateDisclosedRecoveryKey', 'runReconciliation', 'startKeyIndexSync']);
  });

  it('asks for a client-credentials token from the configured authority and tenant, scoped to the first API audience', async () => {
    harness = await buildHarness('openapi-security', {
      env: { AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us', AZURE_TENANT_ID: 'contoso.onmicrosoft.com', API_AUDIENCE: 'api://keydesk.contoso.com/,api://keydesk-old' },
    });
    const doc = await documentOf(harness);
    const scope = 'api://keydesk.contoso.com/.default';
    expect(doc.components.securitySchemes.entra).toMatchObject({
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: 'https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token', scopes: { [scope]: expect.any(String) } } },
    });
    for (const id of API_OPERATIONS) expect(operationById(doc, id).security).toContainEqual({ entra: [scope] });
    expect(operationById(doc, 'liveness').security).toEqual([]);
    expect(operationById(doc, 'readiness').security).toEqual([]);
  });

  it('names the app roles that open each operation, Disclose included for look-ups, and the API lets exactly those in', async () => {
    harness = await buildHarness('openapi-roles');
    const doc = await documentOf(harness);
    expect(Object.fromEntries(API_OPERATIONS.map((id) => [id, operationById(doc, id)['x-keydesk-app-roles']]))).toEqual({
      findDevices: ['BitLocker.Disclose', 'BitLocker.Lookup'],
      listRecoveryKeys: ['BitLocker.Disclose', 'BitLocker.Lookup'],
      discloseRecoveryKey: ['BitLocker.Disclose'],
      getAuditSigningKey: ['BitLocker.Audit'],
      listAuditRecords: ['BitLocker.Audit'],
      getAuditRecord: ['BitLocker.Audit'],
      getAuditVerification: ['BitLocker.Audit'],
      getReconciliation: ['BitLocker.Audit'],
      runReconciliation: ['BitLocker.Audit'],
    });
    expect(operationById(doc, 'liveness')['x-keydesk-app-roles']).toBeUndefined();

    mockEntraDiscovery([signingKey]);
    mockTokenEndpoint({ times: 10 });
    const laptop = tenantDevice('LAPTOP-ANN', [ann]);
    mockGraphTenant([laptop], [{ id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab', deviceId: laptop.deviceId, volumeType: '1', createdDateTime: '2026-01-11T10:00:00Z', key: fakeRecoveryPassword() }]);
    const requests: Record<string, { method: 'GET' | 'POST'; url: string; payload?: object }> = {
      getAuditSigningKey: { method: 'GET', url: '/api/v1/audit/signing-key' },
      listAuditRecords: { method: 'GET', url: '/api/v1/audit/records?deviceName=LAPTOP-ANN' },
      getAuditRecord: { method: 'GET', url: '/api/v1/audit/records/0b9e1d2c-3a4f-4b5c-8d6e-7f8091a2b3c4' },
      getAuditVerification: { method: 'GET', url: '/api/v1/audit/verification' },
      getReconciliation: { method: 'GET', url: '/api/v1/audit/reconciliation' },
      runReconciliation: { method: 'POST', url: '/api/v1/audit/reconciliation/run' },
      findDevices: { method: 'GET', url: '/api/v1/devices?name=LAPTOP-ANN' },
      listRecoveryKeys: { method: 'GET', url: `/api/v1/devices/${laptop.deviceId}/recovery-keys` },
      discloseRecoveryKey: {
        method: 'POST',
        url: '/api/v1/disclosures',
        payload: { deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: ann.userPrincipalName },
      },
    };
    for (const id of API_OPERATIONS) {
      for (const role of KEYDESK_ROLES) {
        const token = await issueAppToken(signingKey, { roles: [role] });
        const response = await harness.inject({ ...requests[id]!, headers: { authorization: `Bearer ${token}` } });
        const allowed = operationById(doc, id)['x-keydesk-app-roles']!.includes(role);
        expect({ id, role, forbidden: response.statusCode === 403 }).toEqual({ id, role, forbidden: !allowed });
      }
    }
  });

  it('documents every error status of every operation as application/problem+json with the Problem schema and an example of each code', async () => {
    harness = await buildHarness('openapi-problems');
    const doc = await documentOf(harness);
    for (const { operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses).filter(([s]) => Number(s) >= 400)) {
        const problem = response.content!['application/problem+json']!;
        expect(problem.schema).toEqual({ $ref: '#/components/schemas/Problem' });
        // /readyz answers 503 with its own body when not ready; any other error is a problem only.
        const others = Object.keys(response.content!).filter((type) => type !== 'application/problem+json');
        expect(others).toEqual(operation.operationId === 'readiness' && status === '503' ? ['application/json'] : []);
        for (const [code, example] of Object.entries(problem.examples!)) {
          expect(example.value).toMatchObject({ code, status: Number(status) });
          expect(PROBLEM_CODES[code as ProblemCode].status).toBe(Number(status));
        }
      }
      const successTypes = Object.entries(operation.responses).filter(([s]) => Number(s) < 300).flatMap(([, r]) => Object.keys(r.content ?? {}));
      // Only the audit listing also answers its exports (CSV, JSON Lines) with 200; a rotation is 202 when new, 200 when there already.
      const exported: Record<string, string[]> = {
        listAuditRecords: ['application/json', 'text/csv', 'application/x-ndjson'],
        getEscrowCoverage: ['application/json', 'text/csv'],
        rotateDisclosedRecoveryKey: ['application/json', 'application/json'],
      };
      expect(successTypes).toEqual(exported[operation.operationId ?? ''] ?? ['application/json']);
    }
    const statuses = (id: string) => Object.keys(operationById(doc, id).responses);
    for (const id of ['findDevices', 'listRecoveryKeys', 'discloseRecoveryKey']) expect(statuses(id)).toEqual(expect.arrayContaining(['400', '401', '403', '429', '500', '502', '503']));
    // No input, no Graph, no rate limit: what it can answer is the token, the role, and whether a key is set.
    expect(statuses('getAuditSigningKey')).toEqual(['200', '401', '403', '404', '500', '503']);
    expect(statuses('discloseRecoveryKey')).toEqual(expect.arrayContaining(['404', '409', '413', '415', '422']));
    expect(statuses('liveness')).toEqual(['200', '503']);
  });

  it('lists every problem code in the Problem schema, with the members integrations read', async () => {
    harness = await buildHarness('openapi-codes');
    const problem = (await documentOf(harness)).components.schemas.Problem as { properties: Record<string, Json> };
    expect(problem.properties.code!.enum).toEqual(ALL_PROBLEM_CODES);
    expect(Object.keys(problem.properties)).toEqual(expect.arrayContaining(['code', 'errors', 'candidates', 'disclosureId', 'auditRecordId']));
  });

  it('says the server is PUBLIC_BASE_URL, or the origin that served the document', async () => {
    harness = await buildHarness('openapi-servers-relative');
    expect((await documentOf(harness)).servers.map((s) => s.url)).toEqual(['/']);
    await harness.close();
    harness = await buildHarness('openapi-servers-public', {
      env: { PUBLIC_BASE_URL: 'https://keydesk.contoso.com', TRUST_PROXY_HOPS: '1', SESSION_SECRET: 'a-test-session-secret-of-more-than-32-characters' },
    });
    expect((await documentOf(harness)).servers.map((s) => s.url)).toEqual(['https://keydesk.contoso.com']);
  });

  it('describes the disclosure request with one reason enum and the device as deviceName, deviceId or neither (the key ID alone)', async () => {
    harness = await buildHarness('openapi-request');
    const media = operationById(await documentOf(harness), 'discloseRecoveryKey').requestBody!.content['application/json']!;
    const properties = media.schema.properties as Record<string, Json>;
    expect(properties.reason).toMatchObject({ enum: [...DISCLOSURE_REASONS] });
    expect(properties.reason).not.toHaveProperty('anyOf');
    expect(media.schema.not).toMatchObject({ required: ['deviceName', 'deviceId'] });
    expect(Object.values(media.examples!).map((e) => Object.keys(e.value as Json).filter((k) => k === 'deviceName' || k === 'deviceId'))).toEqual([['deviceName'], ['deviceId'], []]);
  });

  it('shows only examples its own schemas accept, none shaped like a recovery password, and one for every patterned input', async () => {
    harness = await buildHarness('openapi-examples');
    const doc = await documentOf(harness);
    const ajv = documentValidator(doc);
    const examples = examplesOf(doc);
    expect(examples.length).toBeGreaterThan(100);
    const rejected = examples.filter((example) => !ajv.validate({ $ref: `openapi.json${example.schemaAt}` }, example.value)).map((e) => e.where);
    expect(rejected).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(RECOVERY_PASSWORD_PATTERN);
    // Swagger UI makes up a value from the pattern (`"deviceName": "2w(y"`) wherever no example is given.
    const illustrated = (schema: Json) => Array.isArray(schema.examples) && schema.examples.length > 0;
    for (const { operation } of operations(doc)) {
      for (const parameter of operation.parameters ?? []) expect(parameter.example, parameter.name).toBeDefined();
      const body = operation.requestBody?.content['application/json'];
      for (const [name, schema] of Object.entries((body?.schema.properties ?? {}) as Record<string, Json>)) expect(illustrated(schema), name).toBe(true);
    }
  });

});

/** Where each operation with a patterned query input is reached. */
const QUERIED: Record<string, string> = { listAuditRecords: 'audit/records', findRecoveryKeysByKeyId: 'recovery-keys', listRotations: 'rotations' };

describe('the answers and the document agree', () => {
  let signingKey: SigningKey;
  let harness: Harness;
  let doc: OpenApiDocument;
  let token: string;
  const laptop = tenantDevice('LAPTOP-ANN', [ann]);
  const twins = [tenantDevice('LAPTOP-SHARED', [ann]), tenantDevice('LAPTOP-SHARED', [ann])];

  beforeAll(async () => {
    signingKey = await makeSigningKey();
  });

  beforeEach(async () => {
    nock.disableNetConnect();
    mockEntraDiscovery([signingKey]);
    mockTokenEndpoint({ times: 50 });
    mockGraphTenant([laptop, ...twins], [{ id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab', deviceId: laptop.deviceId, volumeType: '1', createdDateTime: '2026-01-11T10:00:00Z', key: fakeRecoveryPassword() }]);
    token = await issueAppToken(signingKey, { roles: ['BitLocker.Disclose'] });
    harness = await buildHarness('openapi-answers');
    doc = (await harness.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDocument;
  });

  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const request = { deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: ann.userPrincipalName };
  const disclose = (payload: unknown, headers: Record<string, string> = {}) =>
    harness.inject({ method: 'POST', url: '/api/v1/disclosures', headers: { authorization: `Bearer ${token}`, ...headers }, payload: payload as string });

  it.each([
    ['findDevices', 'unauthorized', () => harness.inject({ method: 'GET', url: '/api/v1/devices?name=LAPTOP-ANN' })],
    ['findDevices', 'invalid_request', () => harness.inject({ method: 'GET', url: '/api/v1/devices?prefix=L', headers: { authorization: `Bearer ${token}` } })],
    ['listRecoveryKeys', 'device_not_found', () => harness.inject({ method: 'GET', url: '/api/v1/devices/00000000-0000-4000-8000-000000000000/recovery-keys', headers: { authorization: `Bearer ${token}` } })],
    ['discloseRecoveryKey', 'invalid_request', () => disclose({ ...request, reason: 'lost' })],
    ['discloseRecoveryKey', 'unsupported_media_type', () => disclose('deviceName=LAPTOP-ANN', { 'content-type': 'text/plain' })],
    ['discloseRecoveryKey', 'payload_too_large', () => disclose({ ...request, comment: 'x'.repeat(9000) })],
    ['discloseRecoveryKey', 'ambiguous_device', () => disclose({ ...request, deviceName: 'LAPTOP-SHARED' })],
    ['discloseRecoveryKey', 'key_id_mismatch', () => disclose({ ...request, keyId: 'FFFFFFFF' })],
  ] as const)('%s answers %s as problem+json, with a documented status and code, in a body the Problem schema accepts', async (operationId, code, send) => {
    const response = await send();
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json();
    expect(body.code).toBe(code);
    const documented = operationById(doc, operationId).responses[String(response.statusCode)]?.content?.['application/problem+json'];
    expect(Object.keys(documented?.examples ?? {})).toContain(code);
    const ajv = documentValidator(doc);
    expect(ajv.validate({ $ref: 'openapi.json#/components/schemas/Problem' }, body), JSON.stringify(ajv.errors)).toBe(true);
    // What the example promises a disclosure refusal carries, the answer carries.
    const promised = Object.keys(documented!.examples![code]!.value as Json).filter((member) => member === 'disclosureId' || member === 'auditRecordId');
    for (const member of promised) expect(body[member], member).toEqual(expect.any(String));
  });

  it('words a value refused by any documented pattern without the pattern, for every patterned input', async () => {
    // One value per patterned input that breaks its pattern and nothing else.
    const badValues: Record<string, string> = {
      'findDevices querystring name': 'LAPTOP\u0007ANN',
      'findDevices querystring prefix': 'LAP\u0007',
      'listAuditRecords querystring limit': 'ten',
      'listRotations querystring limit': 'ten',
      'listRecoveryKeys params deviceId': 'not-a-device-id',
      'findRecoveryKeysByKeyId querystring keyIdPrefix': '1A2B3C4',
      'discloseRecoveryKey body deviceName': 'LAPTOP\u0007ANN',
      'discloseRecoveryKey body deviceId': 'not-a-device-id',
      'discloseRecoveryKey body keyId': 'ZZZZZZZZ',
      'discloseRecoveryKey body requesterUpn': 'ann.lee',
      'discloseRecoveryKey body agentUpn': 'sam agent@contoso.com',
    };
    const inputs = patternedInputs(doc);
    expect(inputs.map((i) => `${i.operationId} ${i.location} ${i.name}`).sort()).toEqual(Object.keys(badValues).sort());
    const auth = { authorization: `Bearer ${token}` };
    for (const input of inputs) {
      const bad = badValues[`${input.operationId} ${input.location} ${input.name}`]!;
      const response =
        input.location === 'querystring'
          ? await harness.inject({ method: 'GET', url: `/api/v1/${QUERIED[input.operationId] ?? 'devices'}?${input.name}=${encodeURIComponent(bad)}`, headers: input.operationId === 'listAuditRecords' ? { authorization: `Bearer ${await issueAppToken(signingKey, { roles: ['BitLocker.Audit'] })}` } : auth })
          : input.location === 'params'
            ? await harness.inject({ method: 'GET', url: `/api/v1/devices/${bad}/recovery-keys`, headers: auth })
            : await disclose(input.name === 'deviceId' ? { ...request, deviceName: undefined, deviceId: bad } : { ...request, [input.name]: bad });
      const errors = response.json().errors as { location: string; path: string; message: string }[];
      expect(errors, input.name).toEqual([{ location: input.location, path: `/${input.name}`, message: expect.any(String) }]);
      expect(errors[0]!.message).not.toContain(input.pattern);
      expect(errors[0]!.message).not.toMatch(/pattern|\\u|\[\^|expected form/);
    }
  });

  it('lists the documented reasons when a reason is refused, and suggests the documented member for a misspelt one', async () => {
    const properties = operationById(doc, 'discloseRecoveryKey').requestBody!.content['application/json']!.schema.properties as Record<string, Json>;
    const reason = (await disclose({ ...request, reason: 'lost' })).json().errors;
    expect(reason).toEqual([{ location: 'body', path: '/reason', message: `must be one of: ${(properties.reason!.enum as string[]).join(', ')}` }]);
    const misspelt = (await disclose({ ...request, requesterUPN: ann.userPrincipalName, requesterUpn: undefined })).json().errors;
    expect(misspelt).toContainEqual({ location: 'body', path: '/requesterUPN', message: 'is not a known property; did you mean "requesterUpn"?' });
    expect(Object.keys(properties)).toContain('requesterUpn');
  });
});

describe('the document CI lints', () => {
  it('passes redocly lint with the recommended rules, warnings counted as errors (the .ci/run step)', async () => {
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' };
    await promisify(execFile)(process.execPath, ['scripts/openapi.mjs'], { cwd: ROOT, env });
    const lint = await promisify(execFile)(process.execPath, ['node_modules/@redocly/cli/bin/cli.js', 'lint', '--format', 'json', 'dist/openapi.json'], { cwd: ROOT, env });
    // The two ignored findings are the probes' missing 4XX answers (.redocly.lint-ignore.yaml says why).
    expect(JSON.parse(lint.stdout).totals).toEqual({ errors: 0, warnings: 0, ignored: 2 });
  }, 60_000);
});
