import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';

/**
 * What KeyDesk knows of a device and its keys, in the helpdesk's words: one schema per concept,
 * used by the Graph port (types via Static), the API's answers and /openapi.json.
 */

/**
 * Control characters and lone UTF-16 surrogates (which cannot be percent-encoded into a Graph
 * query) are refused; Ajv matches patterns in unicode mode, so a well-formed pair is one code point
 * outside the surrogate range.
 */
export const PRINTABLE_CHARACTER = '[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]';

/** A device's display name as a caller may give it: Entra allows 256 characters. */
export const DeviceNameSchema = Type.String({ minLength: 1, maxLength: 256, pattern: `^${PRINTABLE_CHARACTER}+$`, description: "The device's display name", examples: ['LAPTOP-ANN'] });

/** A user who is a registered owner of a device. `userPrincipalName` is absent without User.Read.All. */
export const DeviceOwnerSchema = Type.Object(
  {
    id: Type.String({ description: 'Object id of the user' }),
    userPrincipalName: Type.Optional(Type.String({ description: 'Absent when KeyDesk lacks User.Read.All', examples: ['ann.lee@contoso.com'] })),
    displayName: Type.Optional(Type.String({ examples: ['Ann Lee'] })),
    accountEnabled: Type.Optional(Type.Boolean({ description: 'False for a disabled account (a leaver, say)' })),
  },
  { $id: 'DeviceOwner', additionalProperties: false },
);
export type DeviceOwner = Static<typeof DeviceOwnerSchema>;

/** An Entra ID device object (`/devices`). */
export const DeviceSchema = Type.Object(
  {
    id: Type.String({ description: 'Directory object id of the device (not its device ID)', examples: ['0d5f3c1e-8a2b-4c6d-9e0f-1a2b3c4d5e6f'] }),
    deviceId: Type.String({ description: 'Entra device ID: what recovery keys and Intune refer to', examples: ['6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'] }),
    displayName: Type.String({ examples: ['LAPTOP-ANN'] }),
    operatingSystem: Nullable(Type.String({ examples: ['Windows'] })),
    operatingSystemVersion: Nullable(Type.String({ examples: ['10.0.22631.4460'] })),
    approximateLastSignInDateTime: Nullable(Type.String({ examples: ['2026-11-20T08:15:00Z'] })),
    trustType: Nullable(Type.String({ examples: ['AzureAd'] })),
    isManaged: Nullable(Type.Boolean()),
    accountEnabled: Nullable(Type.Boolean({ description: 'False for a disabled device (reported lost or stolen, say)' })),
    registeredOwners: Type.Array(Type.Ref('DeviceOwner'), { description: 'From $expand=registeredOwners; Graph expands at most 20' }),
  },
  { $id: 'Device', additionalProperties: false },
);
export type Device = Omit<Static<typeof DeviceSchema>, 'registeredOwners'> & { registeredOwners: DeviceOwner[] };

/** The device's Intune record, if Intune manages it: its primary user may ask for the key. */
export const IntuneRecordSchema = Type.Object(
  {
    managedDeviceId: Type.String(),
    deviceName: Nullable(Type.String()),
    primaryUserUpn: Nullable(Type.String({ examples: ['ann.lee@contoso.com'] })),
    primaryUserId: Nullable(Type.String()),
    lastSyncDateTime: Nullable(Type.String()),
  },
  { $id: 'IntuneRecord', additionalProperties: false },
);
export type IntuneRecord = Static<typeof IntuneRecordSchema>;

/** `volumeType` in words; Graph documents numeric strings ("1") and names them in its schema. */
export const VolumeTypeSchema = Type.Enum(['operatingSystemVolume', 'fixedDataVolume', 'removableDataVolume', 'unknown']);
export type VolumeType = Static<typeof VolumeTypeSchema>;

/** Metadata of one escrowed BitLocker recovery key; never the password. */
export const RecoveryKeyMetadataSchema = Type.Object(
  {
    id: Type.String({ description: 'The recovery key ID; the recovery screen shows its first 8 hex digits', examples: ['1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d'] }),
    deviceId: Type.String(),
    volumeType: VolumeTypeSchema,
    createdDateTime: Type.String({ examples: ['2026-01-11T10:00:00Z'] }),
  },
  { $id: 'RecoveryKeyMetadata', additionalProperties: false },
);
export type RecoveryKeyMetadata = Static<typeof RecoveryKeyMetadataSchema>;

/** One recovery key with its 48-digit recovery password. Exists only on the way to one response. */
export type RecoveryKeyWithPassword = RecoveryKeyMetadata & { key: string };

/** A user of the directory, as the requester checks need them. */
export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  displayName: string | null;
  accountEnabled: boolean | null;
}
