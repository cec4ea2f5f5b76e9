import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';
import { EXAMPLE } from './examples.js';

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
export const DeviceNameSchema = Type.String({ minLength: 1, maxLength: 256, pattern: `^${PRINTABLE_CHARACTER}+$`, description: "The device's display name", examples: [EXAMPLE.deviceName] });

/** A user who is a registered owner of a device. `userPrincipalName` is absent without User.Read.All. */
export const DeviceOwnerSchema = Type.Object(
  {
    id: Type.String({ description: 'Object id of the user', examples: [EXAMPLE.requesterObjectId] }),
    userPrincipalName: Type.Optional(Type.String({ description: 'Absent when KeyDesk lacks User.Read.All', examples: [EXAMPLE.requesterUpn] })),
    displayName: Type.Optional(Type.String({ examples: [EXAMPLE.requesterName] })),
    accountEnabled: Type.Optional(Type.Boolean({ description: 'False for a disabled account (a leaver, say)', examples: [true] })),
    mail: Type.Optional(Type.String({ description: "The owner's mail address; where a disclosure notice to the owner goes", examples: [EXAMPLE.requesterUpn] })),
  },
  { $id: 'DeviceOwner', additionalProperties: false, description: 'A registered owner of the device' },
);
export type DeviceOwner = Static<typeof DeviceOwnerSchema>;

/** An Entra ID device object (`/devices`). */
export const DeviceSchema = Type.Object(
  {
    id: Type.String({ description: 'Directory object id of the device (not its device ID)', examples: [EXAMPLE.deviceObjectId] }),
    deviceId: Type.String({ description: 'Entra device ID: what recovery keys and Intune refer to', examples: [EXAMPLE.deviceId] }),
    displayName: Type.String({ examples: [EXAMPLE.deviceName] }),
    operatingSystem: Nullable(Type.String({ examples: ['Windows'] })),
    operatingSystemVersion: Nullable(Type.String({ examples: ['10.0.22631.4460'] })),
    approximateLastSignInDateTime: Nullable(Type.String({ examples: [EXAMPLE.lastSignInAt] })),
    trustType: Nullable(Type.String({ examples: ['AzureAd'] }), { description: 'AzureAd (Entra joined), ServerAd (hybrid joined) or Workplace (registered)' }),
    isManaged: Nullable(Type.Boolean({ examples: [true] }), { description: 'True when an MDM such as Intune manages the device' }),
    accountEnabled: Nullable(Type.Boolean({ examples: [true] }), { description: 'False for a disabled device (reported lost or stolen, say)' }),
    registeredOwners: Type.Array(Type.Ref('DeviceOwner'), { description: 'From $expand=registeredOwners; Graph expands at most 20' }),
  },
  { $id: 'Device', additionalProperties: false, description: 'An Entra ID device' },
);
export type Device = Omit<Static<typeof DeviceSchema>, 'registeredOwners'> & { registeredOwners: DeviceOwner[] };

/** The device's Intune record, if Intune manages it: its primary user may ask for the key. */
export const IntuneRecordSchema = Type.Object(
  {
    managedDeviceId: Type.String({ examples: [EXAMPLE.managedDeviceId] }),
    deviceName: Nullable(Type.String({ examples: [EXAMPLE.deviceName] })),
    primaryUserUpn: Nullable(Type.String({ examples: [EXAMPLE.requesterUpn] })),
    primaryUserId: Nullable(Type.String({ examples: [EXAMPLE.requesterObjectId] })),
    lastSyncDateTime: Nullable(Type.String({ examples: [EXAMPLE.lastSyncAt] })),
  },
  { $id: 'IntuneRecord', additionalProperties: false, description: "The device's Intune record: its primary user may ask for the key" },
);
export type IntuneRecord = Static<typeof IntuneRecordSchema>;

/** `volumeType` in words; Graph documents numeric strings ("1") and names them in its schema. */
export const VolumeTypeSchema = Type.Enum(['operatingSystemVolume', 'fixedDataVolume', 'removableDataVolume', 'unknown'], {
  description: 'Which drive the key unlocks',
  examples: ['operatingSystemVolume'],
});
export type VolumeType = Static<typeof VolumeTypeSchema>;

/** Metadata of one escrowed BitLocker recovery key; never the password. */
export const RecoveryKeyMetadataSchema = Type.Object(
  {
    id: Type.String({ description: 'The recovery key ID; the recovery screen shows its first 8 hex digits', examples: [EXAMPLE.recoveryKeyId] }),
    deviceId: Type.String({ examples: [EXAMPLE.deviceId] }),
    volumeType: VolumeTypeSchema,
    createdDateTime: Type.String({ description: 'When the key was escrowed', examples: [EXAMPLE.escrowedAt] }),
  },
  { $id: 'RecoveryKeyMetadata', additionalProperties: false, description: 'One escrowed BitLocker recovery key, without its password' },
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
  /** Where a disclosure notice to this user goes; absent when the account has no mailbox. */
  mail?: string;
}
