import Type from 'typebox';
import { ALL_PROBLEM_CODES } from '../problem/problem.js';
import { DisclosureChecksSchema } from './checks.js';
import { Guid, Nullable } from './common.js';
import { DeviceNameSchema, DeviceOwnerSchema, PRINTABLE_CHARACTER, DeviceSchema, IntuneRecordSchema, RecoveryKeyMetadataSchema, VolumeTypeSchema } from './device.js';

/** The API's request and answer schemas: they validate input, shape output and feed /openapi.json. */

export const ValidationErrorSchema = Type.Object(
  {
    location: Type.String({ description: 'body, querystring or params', examples: ['body'] }),
    path: Type.String({ description: 'JSON pointer of the member', examples: ['/keyId'] }),
    message: Type.String({ examples: ['is required'] }),
  },
  { additionalProperties: false },
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ examples: ['urn:keydesk:problem:key_id_mismatch'] }),
    title: Type.String({ examples: ['The key ID matches no recovery key of this device'] }),
    status: Type.Integer({ examples: [422] }),
    code: Type.Enum([...ALL_PROBLEM_CODES], { description: 'Stable, machine-readable error code: branch on this, never on the text' }),
    detail: Type.String({ description: 'What happened and what to do next', examples: ['The key ID 1A2B3C4D does not match any recovery key of LAPTOP-ANN. Ask the caller to read the recovery key ID on the screen again.'] }),
    instance: Type.Optional(Type.String({ examples: ['/api/v1/disclosures'] })),
    errors: Type.Optional(Type.Array(ValidationErrorSchema, { description: 'With invalid_request: each member that failed its schema' })),
    candidates: Type.Optional(
      Type.Array(
        Type.Object({
          deviceId: Type.String(),
          displayName: Type.String(),
          operatingSystem: Nullable(Type.String()),
          operatingSystemVersion: Nullable(Type.String()),
          approximateLastSignInDateTime: Nullable(Type.String()),
          owners: Type.Array(Type.String()),
        }),
        { description: 'With ambiguous_device: the devices sharing the name; retry with one deviceId' },
      ),
    ),
    disclosureId: Type.Optional(Type.String({ description: 'With a refused disclosure: the attempt, as the audit trail names it' })),
    auditRecordId: Type.Optional(Type.String({ description: 'With a refused disclosure: the audit record of the refusal' })),
    graphRequestId: Type.Optional(Type.String({ description: "Graph's request-id, for Microsoft support" })),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);

export const sharedSchemas = [DeviceOwnerSchema, DeviceSchema, IntuneRecordSchema, RecoveryKeyMetadataSchema, DisclosureChecksSchema, ProblemSchema];

export const DeviceSearchQuery = Type.Object(
  {
    name: Type.Optional(DeviceNameSchema),
    prefix: Type.Optional(Type.String({ minLength: 2, maxLength: 256, pattern: `^${PRINTABLE_CHARACTER}+$`, description: 'The start of the name (at least 2 characters)', examples: ['LAPTOP-'] })),
  },
  { additionalProperties: false, description: 'Exactly one of name (exact match) or prefix' },
);

export const DeviceSearchResponse = Type.Object(
  {
    devices: Type.Array(Type.Ref('Device')),
    capped: Type.Boolean({ description: 'True when more devices matched than were returned: type more of the name' }),
    limit: Type.Integer({ examples: [500] }),
  },
  { additionalProperties: false },
);

export const DeviceIdParams = Type.Object({ deviceId: Guid }, { additionalProperties: false });

export const DeviceRecoveryKeysResponse = Type.Object(
  {
    device: Type.Ref('Device'),
    intune: Nullable(Type.Ref('IntuneRecord')),
    recoveryKeys: Type.Array(Type.Ref('RecoveryKeyMetadata'), { description: 'Newest first' }),
  },
  { additionalProperties: false },
);

export const DisclosureResponse = Type.Object(
  {
    disclosureId: Type.String({ description: 'The attempt, as the audit trail names it', examples: ['4f7c2a9e-0b1d-4c3e-9a8f-1e2d3c4b5a69'] }),
    auditRecordId: Type.String({ description: 'The audit record that says the key was disclosed', examples: ['0b9e1d2c-3a4f-4b5c-8d6e-7f8091a2b3c4'] }),
    device: Type.Ref('Device'),
    recoveryKey: Type.Object(
      {
        id: Type.String({ examples: ['1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d'] }),
        volumeType: VolumeTypeSchema,
        createdDateTime: Type.String({ examples: ['2026-01-11T10:00:00Z'] }),
        // No example: anything shaped like a recovery password is one place too many.
        key: Type.String({ description: 'The 48-digit recovery password: 8 groups of 6 digits separated by hyphens' }),
      },
      { additionalProperties: false },
    ),
    checks: Type.Ref('DisclosureChecks'),
    warnings: Type.Array(Type.String(), { description: 'What a warn policy let through (REQUESTER_CHECK, DISABLED_*_CHECK); also in the audit record' }),
  },
  { additionalProperties: false },
);

export const ProblemRef = Type.Ref('Problem');

/** The problem answers of a route, one per status it can give, for /openapi.json. */
export function problemResponses(...statuses: number[]): Record<number, typeof ProblemRef> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemRef]));
}

/** What any API route can answer besides its own refusals: no or a bad token, no role, too many requests, KeyDesk or Graph failing. */
export const COMMON_API_STATUSES = [400, 401, 403, 429, 500, 502, 503];
