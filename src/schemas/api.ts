import Type, { type TSchema } from 'typebox';
import { ALL_PROBLEM_CODES, PROBLEM_CODES, type KeyDeskProblem, type ProblemCode } from '../problem/problem.js';
import { DisclosureChecksSchema } from './checks.js';
import { Guid, Nullable } from './common.js';
import { EXAMPLE } from './examples.js';
import { exampleProblem, type ApiProblemCode } from './problem-examples.js';
import { DeviceNameSchema, DeviceOwnerSchema, PRINTABLE_CHARACTER, DeviceSchema, IntuneRecordSchema, RecoveryKeyMetadataSchema, VolumeTypeSchema } from './device.js';

/** The API's request and answer schemas: they validate input, shape output and feed /openapi.json. */

export const ValidationErrorSchema = Type.Object(
  {
    location: Type.String({ description: 'body, querystring or params (form in the web UI)', examples: ['body'] }),
    path: Type.String({ description: 'JSON pointer of the member; / for the whole object', examples: ['/keyId'] }),
    message: Type.String({ description: 'What is wrong, in words: never a regular expression', examples: ['is required'] }),
  },
  { additionalProperties: false },
);

const CandidateSchema = Type.Object(
  {
    deviceId: Type.String({ examples: [EXAMPLE.deviceId] }),
    displayName: Type.String({ examples: [EXAMPLE.deviceName] }),
    operatingSystem: Nullable(Type.String({ examples: ['Windows'] })),
    operatingSystemVersion: Nullable(Type.String({ examples: ['10.0.22631.4460'] })),
    approximateLastSignInDateTime: Nullable(Type.String({ examples: [EXAMPLE.lastSignInAt] })),
    owners: Type.Array(Type.String({ examples: [EXAMPLE.requesterUpn] }), { description: 'UPNs of the registered owners (object ids without User.Read.All)' }),
  },
  { description: 'One of the devices sharing the name' },
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:keydesk:problem: followed by the code', examples: ['urn:keydesk:problem:key_id_mismatch'] }),
    title: Type.String({ description: "The code's title: the same for every answer with that code", examples: ['The key ID matches no recovery key of this device'] }),
    status: Type.Integer({ minimum: 400, maximum: 599, description: 'The HTTP status', examples: [422] }),
    code: Type.Enum([...ALL_PROBLEM_CODES], { description: 'Stable, machine-readable error code: branch on this, never on the text', examples: ['key_id_mismatch'] }),
    detail: Type.String({ description: 'What happened and what to do next', examples: ['The key ID 1A2B3C4D does not match any recovery key of LAPTOP-ANN. Ask the caller to read the recovery key ID on the screen again.'] }),
    instance: Type.Optional(Type.String({ description: 'The path of the request', examples: ['/api/v1/disclosures'] })),
    errors: Type.Optional(Type.Array(ValidationErrorSchema, { description: 'With invalid_request: each member that failed its schema' })),
    candidates: Type.Optional(Type.Array(CandidateSchema, { description: 'With ambiguous_device: the devices sharing the name; with ambiguous_key_id for a disclosure naming no device: the devices whose keys start with the key ID. Retry with one deviceId' })),
    disclosureId: Type.Optional(Type.String({ description: 'With a refused disclosure: the attempt, as the audit trail names it', examples: [EXAMPLE.disclosureId] })),
    auditRecordId: Type.Optional(Type.String({ description: 'With a refused disclosure: the audit record of the refusal', examples: [EXAMPLE.auditRecordId] })),
    graphRequestId: Type.Optional(Type.String({ description: "Graph's request-id, for Microsoft support", examples: [EXAMPLE.graphRequestId] })),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);

export const sharedSchemas = [DeviceOwnerSchema, DeviceSchema, IntuneRecordSchema, RecoveryKeyMetadataSchema, DisclosureChecksSchema, ProblemSchema];

export const DeviceSearchQuery = Type.Object(
  {
    name: Type.Optional(DeviceNameSchema),
    prefix: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 256,
        pattern: `^${PRINTABLE_CHARACTER}+$`,
        description: 'The start of the name (at least 2 characters)',
        examples: ['LAPTOP-'],
      }),
    ),
  },
  { additionalProperties: false, description: 'Exactly one of name (exact match) or prefix' },
);

export const DeviceSearchResponse = Type.Object(
  {
    devices: Type.Array(Type.Ref('Device')),
    capped: Type.Boolean({ description: 'True when more devices matched than were returned: type more of the name', examples: [false] }),
    limit: Type.Integer({ description: 'The most devices one search returns', examples: [500] }),
  },
  { additionalProperties: false, description: 'The devices found, with their registered owners' },
);

export const DeviceIdParams = Type.Object({ deviceId: Guid }, { additionalProperties: false });

export const DeviceRecoveryKeysResponse = Type.Object(
  {
    device: Type.Ref('Device'),
    intune: Nullable(Type.Ref('IntuneRecord'), { description: 'Null when Intune does not manage the device' }),
    recoveryKeys: Type.Array(Type.Ref('RecoveryKeyMetadata'), { description: 'Newest first' }),
  },
  { additionalProperties: false, description: 'The device, its Intune record and the IDs of its escrowed recovery keys: never a recovery password' },
);

export const DisclosureResponse = Type.Object(
  {
    disclosureId: Type.String({ description: 'The attempt, as the audit trail names it', examples: [EXAMPLE.disclosureId] }),
    auditRecordId: Type.String({ description: 'The audit record that says the key was disclosed', examples: [EXAMPLE.auditRecordId] }),
    device: Type.Ref('Device'),
    recoveryKey: Type.Object(
      {
        id: Type.String({ description: 'The full recovery key ID', examples: [EXAMPLE.recoveryKeyId] }),
        volumeType: VolumeTypeSchema,
        createdDateTime: Type.String({ description: 'When the key was escrowed', examples: [EXAMPLE.escrowedAt] }),
        // No example: anything shaped like a recovery password is one place too many.
        key: Type.String({ description: 'The 48-digit recovery password: 8 groups of 6 digits separated by hyphens' }),
      },
      { additionalProperties: false },
    ),
    checks: Type.Ref('DisclosureChecks'),
    warnings: Type.Array(Type.String(), {
      description: 'What a warn policy let through (REQUESTER_CHECK, DISABLED_*_CHECK); also in the audit record. Empty when every check passed.',
      examples: [[], [`${EXAMPLE.deviceName} is disabled in Entra ID (it may have been reported lost or stolen); disclosed because DISABLED_DEVICE_CHECK=warn. Tell the security team.`]],
    }),
  },
  { additionalProperties: false, description: 'Disclosed and audited: read the recovery password to the caller, then let it go' },
);

export const ProblemRef = Type.Ref('Problem');

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** What any API route can answer besides its own refusals: a bad request or token, no role, too many requests, KeyDesk or Graph failing. */
export const COMMON_API_PROBLEMS = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'app_token_required',
  'rate_limited',
  'internal_error',
  'graph_permission_missing',
  'graph_error',
  'graph_unavailable',
  'identity_provider_unavailable',
  'shutting_down',
] as const satisfies readonly ApiProblemCode[];

/** Refused before the caller is known (no token, Entra unreachable, shutting down): no attempt to record. */
const UNRECORDED_PROBLEMS: ReadonlySet<ApiProblemCode> = new Set(['unauthorized', 'identity_provider_unavailable', 'shutting_down']);

/** What the examples of a route's problems show. */
export interface ProblemExamples {
  /** The request path, as `instance` shows it. */
  instance: string;
  /** Refusals of an authenticated caller are recorded and carry disclosureId and auditRecordId. */
  recorded?: boolean;
  /** The route's own `invalid_request`, worded for its input. */
  invalidRequest?: KeyDeskProblem;
}

/** The description, headers and content of one problem status, for Fastify's serializer and /openapi.json. */
export interface ProblemResponse {
  description: string;
  headers?: Record<string, { description: string; type: 'string' }>;
  content: Record<string, { schema: TSchema; examples?: Record<string, { summary: string; value: Record<string, unknown> }> }>;
}

const HEADER_DOCS: Record<string, { name: string; description: string }> = {
  'retry-after': { name: 'Retry-After', description: 'Seconds to wait before trying again' },
  'www-authenticate': { name: 'WWW-Authenticate', description: 'Bearer; with step_up_required, a claims challenge naming the authentication context' },
};

function exampleOf(code: ApiProblemCode, examples: ProblemExamples): KeyDeskProblem {
  const problem = code === 'invalid_request' && examples.invalidRequest ? examples.invalidRequest : exampleProblem(code);
  if (!examples.recorded || UNRECORDED_PROBLEMS.has(code)) return problem;
  // The trail could not record this one: it names the attempt but has no record.
  return problem.withExtensions(code === 'audit_unavailable' ? { disclosureId: EXAMPLE.disclosureId } : { disclosureId: EXAMPLE.disclosureId, auditRecordId: EXAMPLE.auditRecordId });
}

/** The `application/problem+json` content for `codes`, one named example per code. */
export function problemContent(examples: ProblemExamples, codes: readonly ApiProblemCode[]): ProblemResponse['content'] {
  const named = codes.map((code) => [code, { summary: PROBLEM_CODES[code].title, value: exampleOf(code, examples).toJSON(examples.instance) }] as const);
  return { [PROBLEM_MEDIA_TYPE]: { schema: ProblemRef, examples: Object.fromEntries(named) } };
}

/** "`code`: title" for each code, the response's description. */
export function problemDescription(codes: readonly ProblemCode[]): string {
  return codes.map((code) => `\`${code}\`: ${PROBLEM_CODES[code].title}`).join('; ');
}

function problemHeaders(examples: ProblemExamples, codes: readonly ApiProblemCode[]): ProblemResponse['headers'] {
  const names = new Set(codes.flatMap((code) => Object.keys(exampleOf(code, examples).headers).map((name) => name.toLowerCase())));
  const documented = [...names].flatMap((name) => (HEADER_DOCS[name] ? [HEADER_DOCS[name]] : []));
  return documented.length === 0 ? undefined : Object.fromEntries(documented.map(({ name, description }) => [name, { description, type: 'string' as const }]));
}

/**
 * The problem answers of a route, one per status its `codes` give: `application/problem+json`
 * with the Problem schema (which also serializes them) and an example of each code.
 */
export function problemResponses(examples: ProblemExamples, ...codes: ApiProblemCode[]): Record<number, ProblemResponse> {
  const byStatus = new Map<number, ApiProblemCode[]>();
  for (const code of new Set(codes)) byStatus.set(PROBLEM_CODES[code].status, [...(byStatus.get(PROBLEM_CODES[code].status) ?? []), code]);
  const statuses = [...byStatus.keys()].sort((a, b) => a - b);
  return Object.fromEntries(
    statuses.map((status) => {
      const atStatus = byStatus.get(status)!;
      const headers = problemHeaders(examples, atStatus);
      return [status, { description: problemDescription(atStatus), ...(headers ? { headers } : {}), content: problemContent(examples, atStatus) }];
    }),
  );
}
