/**
 * What KeyDesk needs from Microsoft Graph, in the helpdesk's words. The disclosure rules depend on
 * this port only, so they can be tested with a plain fake and the gateway with nock.
 */

/** A user who is a registered owner of a device. `userPrincipalName` is absent without User.Read.All. */
export interface DeviceOwner {
  id: string;
  userPrincipalName?: string;
  displayName?: string;
}

/** An Entra ID device object (`/devices`). */
export interface Device {
  /** Directory object id: what `/devices/{id}` takes. Not the Entra device ID. */
  id: string;
  /** Entra device ID: what recovery keys and Intune's `azureADDeviceId` refer to. */
  deviceId: string;
  displayName: string;
  operatingSystem: string | null;
  operatingSystemVersion: string | null;
  approximateLastSignInDateTime: string | null;
  trustType: string | null;
  isManaged: boolean | null;
  accountEnabled: boolean | null;
  /** From `$expand=registeredOwners`; Graph expands at most 20. */
  registeredOwners: DeviceOwner[];
}

/** The device's Intune record, if Intune manages it: its primary user may ask for the key. */
export interface IntuneRecord {
  managedDeviceId: string;
  deviceName: string | null;
  primaryUserUpn: string | null;
  primaryUserId: string | null;
  lastSyncDateTime: string | null;
}

/** Who may ask for a device's recovery key. */
export interface DeviceRequesters {
  registeredOwners: DeviceOwner[];
  /** null when Intune does not manage the device. */
  intune: IntuneRecord | null;
}

/** `volumeType` as Graph sends it: documented as numeric strings ("1"), named in the schema. */
export type VolumeType = 'operatingSystemVolume' | 'fixedDataVolume' | 'removableDataVolume' | 'unknown';

/** Metadata of one escrowed BitLocker recovery key; never the password. */
export interface RecoveryKeyMetadata {
  /** The key ID: a GUID whose first 8 hex digits the recovery screen shows. */
  id: string;
  deviceId: string;
  volumeType: VolumeType;
  createdDateTime: string;
}

/** One recovery key with its 48-digit recovery password. Exists only on the way to one response. */
export interface RecoveryKeyWithPassword extends RecoveryKeyMetadata {
  key: string;
}

export interface DeviceSearchResult {
  devices: Device[];
  /** True when more devices matched than `limit` and the list was cut. */
  capped: boolean;
  limit: number;
}

export interface RecoveryPasswordRead {
  recoveryKey: RecoveryKeyWithPassword;
  /** Graph's `request-id` response header: matches the tenant's own audit log entry. */
  graphRequestId: string | null;
}

export interface GraphGateway {
  /** Devices whose display name is exactly `name`, with their registered owners. */
  findDevicesByName(name: string): Promise<DeviceSearchResult>;
  /** Devices whose display name starts with `prefix`, with their registered owners. */
  findDevicesByPrefix(prefix: string): Promise<DeviceSearchResult>;
  /** The device with this Entra device ID, with its registered owners, or null. */
  getDevice(deviceId: string): Promise<Device | null>;
  /** The device's Intune record (primary user), or null when Intune does not manage it. */
  getIntuneRecord(deviceId: string): Promise<IntuneRecord | null>;
  /** Metadata of every recovery key escrowed for the device (Entra device ID). */
  listRecoveryKeys(deviceId: string): Promise<RecoveryKeyMetadata[]>;
  /**
   * Reads the recovery password of exactly one key (`$select=key`). Each call is written to the
   * tenant's Entra audit log, so it must only be made for the key being disclosed.
   * `clientRequestId` is sent as `client-request-id` so both audit trails can be joined.
   */
  readRecoveryPassword(keyId: string, clientRequestId: string): Promise<RecoveryPasswordRead>;
}
