import Type, { type TSchema } from 'typebox';
import { DISCLOSURE_REASONS } from '../disclosure/rules.js';

/** JSON schemas shared by the API routes: they validate input, shape output and feed /openapi.json. */

const Guid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'A GUID',
  examples: ['6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'],
});
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/**
 * Entra allows 256 characters for a device name. Control characters and lone UTF-16 surrogates
 * (which cannot be percent-encoded into a Graph query) are refused; Ajv matches patterns in
 * unicode mode, so a well-formed pair is one code point outside the surrogate range.
 */
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$';
const DeviceName = Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE });
const Upn = Type.String({ minLength: 3, maxLength: 113, pattern: '^[^\\s@]+@[^\\s@]+$', description: 'User principal name, e.g. alice@contoso.com' });

export const DeviceOwnerSchema = Type.Object(
  {
    id: Type.String(),
    userPrincipalName: Type.Optional(Type.String({ description: 'Absent when KeyDesk lacks User.Read.All' })),
    displayName: Type.Optional(Type.String()),
  },
  { $id: 'DeviceOwner', additionalProperties: false },
);

export const DeviceSchema = Type.Object(
  {
    id: Type.String({ description: 'Directory object id of the device' }),
    deviceId: Type.String({ description: 'Entra device ID: what recovery keys and Intune refer to' }),
    displayName: Type.String(),
    operatingSystem: Nullable(Type.String()),
    operatingSystemVersion: Nullable(Type.String()),
    approximateLastSignInDateTime: Nullable(Type.String()),
    trustType: Nullable(Type.String()),
    isManaged: Nullable(Type.Boolean()),
    accountEnabled: Nullable(Type.Boolean()),
    registeredOwners: Type.Array(Type.Ref('DeviceOwner')),
  },
  { $id: 'Device', additionalProperties: false },
);

export const IntuneRecordSchema = Type.Object(
  {
    managedDeviceId: Type.String(),
    deviceName: Nullable(Type.String()),
    primaryUserUpn: Nullable(Type.String()),
    primaryUserId: Nullable(Type.String()),
    lastSyncDateTime: Nullable(Type.String()),
  },
  { $id: 'IntuneRecord', additionalProperties: false },
);

const VolumeType = Type.Union([
  Type.Literal('operatingSystemVolume'),
  Type.Literal('fixedDataVolume'),
  Type.Literal('removableDataVolume'),
  Type.Literal('unknown'),
]);

export const RecoveryKeyMetadataSchema = Type.Object(
  {
    id: Type.String({ description: 'The recovery key ID; the recovery screen shows its first 8 hex digits' }),
    deviceId: Type.String(),
    volumeType: VolumeType,
    createdDateTime: Type.String(),
  },
  { $id: 'RecoveryKeyMetadata', additionalProperties: false },
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable, machine-readable error code' }),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);

export const sharedSchemas = [DeviceOwnerSchema, DeviceSchema, IntuneRecordSchema, RecoveryKeyMetadataSchema, ProblemSchema];

export const ProblemRef = Type.Ref('Problem');

export const DeviceSearchQuery = Type.Object(
  {
    name: Type.Optional(DeviceName),
    prefix: Type.Optional(Type.String({ minLength: 2, maxLength: 256, pattern: PRINTABLE })),
  },
  { additionalProperties: false, description: 'Exactly one of name (exact match) or prefix' },
);

export const DeviceSearchResponse = Type.Object(
  {
    devices: Type.Array(Type.Ref('Device')),
    capped: Type.Boolean({ description: 'True when more devices matched than the limit' }),
    limit: Type.Integer(),
  },
  { additionalProperties: false },
);

export const DeviceIdParams = Type.Object({ deviceId: Guid }, { additionalProperties: false });

export const DeviceRecoveryKeysResponse = Type.Object(
  {
    device: Type.Ref('Device'),
    intune: Nullable(Type.Ref('IntuneRecord')),
    recoveryKeys: Type.Array(Type.Ref('RecoveryKeyMetadata')),
  },
  { additionalProperties: false },
);

export const DisclosureBody = Type.Object(
  {
    deviceName: Type.Optional(DeviceName),
    deviceId: Type.Optional(Guid),
    keyId: Type.String({
      minLength: 8,
      maxLength: 40,
      // 8 to 32 hex digits, hyphens between them as the screen or a GUID groups them.
      pattern: '^(?:[0-9a-fA-F]-?){7,31}[0-9a-fA-F]$',
      description: 'The recovery key ID read off the recovery screen: at least its first 8 hex digits, or the whole ID',
    }),
    ticket: Type.String({ minLength: 1, maxLength: 64, description: 'The helpdesk ticket reference, e.g. INC0012345' }),
    reason: Type.Union(DISCLOSURE_REASONS.map((r) => Type.Literal(r))),
    requesterUpn: Upn,
    agentUpn: Type.Optional(Upn),
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false, description: 'Exactly one of deviceName or deviceId' },
);

const CheckResults = Type.Object(
  {
    ticket: Nullable(Type.Boolean()),
    reason: Nullable(Type.Boolean()),
    deviceResolved: Nullable(Type.Boolean()),
    keyIdMatched: Nullable(Type.Boolean()),
    requester: Nullable(Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Literal('warned'), Type.Literal('skipped')])),
    requesterMatchedAs: Nullable(Type.Union([Type.Literal('registered_owner'), Type.Literal('primary_user')])),
  },
  { additionalProperties: false },
);

export const DisclosureResponse = Type.Object(
  {
    disclosureId: Type.String(),
    auditRecordId: Type.String(),
    device: Type.Ref('Device'),
    recoveryKey: Type.Object(
      {
        id: Type.String(),
        volumeType: VolumeType,
        createdDateTime: Type.String(),
        key: Type.String({ description: 'The 48-digit recovery password, 8 groups of 6 digits' }),
      },
      { additionalProperties: false },
    ),
    checks: CheckResults,
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
