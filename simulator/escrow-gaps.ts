import { directoryOf, type SimDevice, type SimDirectory, type SimManagedDevice, type SimRecoveryKey } from './organisation.js';
import { SeededRandom } from './random.js';

/**
 * The gaps a key-ID index and an escrow coverage report must find, planted after the organisation
 * is drawn (from a stream of their own, so every earlier ID, name and password stays as it was):
 * an Intune-managed device that reports itself encrypted yet never escrowed a key, one whose only
 * key is years old, one close to Entra's 200 keys per device, and one meant to be deleted
 * (`knobs.deleteDevice`) so that its keys vanish from Graph. A bulk of ordinary devices with one
 * key each can be added for the benchmark (`bulkKeys`).
 */

export interface SimEscrowGaps {
  /** Managed, `isEncrypted: true`, no key in Entra. */
  encryptedWithoutKey: SimDevice;
  /** Managed, encrypted, its only key escrowed 500 days ago. */
  staleKey: SimDevice;
  /** 190 keys escrowed (Entra keeps at most 200). */
  nearLimit: SimDevice;
  /** An ordinary managed device with an OS-volume key, for tests that delete it. */
  toDelete: SimDevice;
  /**
   * Two devices whose OS-volume keys share the first 8 hex digits (the part the recovery screen
   * shows): rare for one pair, but likely somewhere in a tenant of 100,000 keys.
   */
  sharedKeyIdPrefix: [SimDevice, SimDevice];
}

const DAY_MS = 86_400_000;
const NEAR_LIMIT_KEYS = 190;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface Planter {
  random: SeededRandom;
  reference: number;
  devices: SimDevice[];
  managed: SimManagedDevice[];
  keys: SimRecoveryKey[];
}

function plantDevice(p: Planter, displayName: string, encrypted: boolean): SimDevice {
  const registered = p.reference - p.random.int(600, 900) * DAY_MS;
  const device: SimDevice = {
    id: p.random.guid(),
    deviceId: p.random.guid(),
    displayName,
    kind: 'laptop',
    operatingSystem: 'Windows',
    operatingSystemVersion: '10.0.22631.4460',
    release: 'Windows 11 23H2',
    trustType: 'AzureAd',
    accountEnabled: true,
    isCompliant: true,
    isManaged: true,
    registrationDateTime: iso(registered),
    approximateLastSignInDateTime: iso(p.reference - p.random.int(1, 5) * DAY_MS),
    manufacturer: 'LENOVO',
    model: 'ThinkPad T14 Gen 4',
    serialNumber: `PF${p.random.text(6, 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789')}`,
    ownerIds: [],
    primaryUserId: null,
  };
  p.devices.push(device);
  p.managed.push({
    id: p.random.guid(),
    azureADDeviceId: device.deviceId,
    deviceName: displayName,
    userId: '',
    userPrincipalName: '',
    userDisplayName: '',
    emailAddress: '',
    operatingSystem: 'Windows',
    osVersion: device.operatingSystemVersion,
    lastSyncDateTime: iso(p.reference - DAY_MS),
    enrolledDateTime: iso(registered + 3_600_000),
    complianceState: 'compliant',
    manufacturer: device.manufacturer,
    model: device.model,
    serialNumber: device.serialNumber,
    isEncrypted: encrypted,
    managedDeviceOwnerType: 'company',
    deviceEnrollmentType: 'windowsAzureADJoin',
  });
  return device;
}

function escrow(p: Planter, device: SimDevice, createdMs: number): void {
  p.keys.push({ id: p.random.guid(), deviceId: device.deviceId, volumeType: '1', createdDateTime: iso(createdMs), key: p.random.recoveryPassword() });
}

/** The directory with the gaps (and `bulkKeys` extra devices of one key each) added. */
export function plantEscrowGaps(directory: SimDirectory, seed: number, referenceDate: Date, bulkKeys = 0): { directory: SimDirectory; gaps: SimEscrowGaps } {
  const p: Planter = {
    random: new SeededRandom(seed ^ 0x6e5c20),
    reference: referenceDate.getTime(),
    devices: [...directory.devices],
    managed: [...directory.managedDevices],
    keys: [...directory.recoveryKeys],
  };
  const encryptedWithoutKey = plantDevice(p, 'KIOSK-LDS-07', true);
  const staleKey = plantDevice(p, 'LAB-MUC-OLD-03', true);
  escrow(p, staleKey, p.reference - 500 * DAY_MS);
  const nearLimit = plantDevice(p, 'TEST-RIG-REIMAGED', true);
  for (let n = NEAR_LIMIT_KEYS; n > 0; n--) escrow(p, nearLimit, p.reference - n * DAY_MS);
  const toDelete = plantDevice(p, 'LOANER-AMS-11', true);
  escrow(p, toDelete, p.reference - 30 * DAY_MS);
  const twins: [SimDevice, SimDevice] = [plantDevice(p, 'TWIN-LDS-01', true), plantDevice(p, 'TWIN-LDS-02', true)];
  for (const twin of twins) escrow(p, twin, p.reference - 60 * DAY_MS);
  const [first, second] = [p.keys.at(-2)!, p.keys.at(-1)!];
  second.id = `${first.id.slice(0, 8)}${second.id.slice(8)}`;
  for (let n = 0; n < bulkKeys; n++) {
    const device = plantDevice(p, `BULK-${String(n).padStart(6, '0')}`, true);
    escrow(p, device, p.reference - p.random.int(1, 300) * DAY_MS);
  }
  const users = [...directory.users];
  return {
    directory: directoryOf(directory.tenantId, users, p.devices, p.managed, p.keys, directory.notable),
    gaps: { encryptedWithoutKey, staleKey, nearLimit, toDelete, sharedKeyIdPrefix: twins },
  };
}

/** The directory as Entra has it once the device is deleted: the device, its Intune records and its keys are gone. */
export function withoutDevice(directory: SimDirectory, deviceId: string): SimDirectory {
  const id = deviceId.toLowerCase();
  return directoryOf(
    directory.tenantId,
    [...directory.users],
    directory.devices.filter((d) => d.deviceId !== id),
    directory.managedDevices.filter((m) => m.azureADDeviceId !== id),
    directory.recoveryKeys.filter((k) => k.deviceId !== id),
    directory.notable,
  );
}
