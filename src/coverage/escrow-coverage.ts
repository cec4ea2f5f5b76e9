import type { EscrowConfig } from '../config/escrow-config.js';
import type { InventoryDevice, InventoryManagedDevice } from '../graph/tenant-key-list.js';
import type { IndexedKey } from '../key-index/types.js';

/**
 * The escrow coverage report, computed after each full key-index sync from the index and the
 * tenant's device lists: encrypted Windows devices Intune manages that have no key in Entra (the
 * key exists only on the device), devices whose newest key is old, devices close to Entra's 200
 * keys, and keys whose device was deleted from Entra (the index still remembers them). A plain
 * function of its inputs; no I/O.
 */

export const ORPHANED_KEY_NOTE = 'no longer held by Entra: unrecoverable unless the device is restored or the key is escrowed elsewhere';

export interface NoEscrowRow {
  deviceId: string;
  deviceName: string;
  managedDeviceId: string;
}

export interface DeviceKeysRow {
  deviceId: string;
  deviceName: string;
  keyCount: number;
  newestKeyCreatedDateTime: string;
}

export interface OrphanedKeyRow {
  id: string;
  deviceId: string;
  volumeType: IndexedKey['volumeType'];
  createdDateTime: string;
  removedAt: string | null;
  note: string;
}

export interface EscrowCoverageCounts {
  devices: number;
  managedWindowsEncrypted: number;
  keys: number;
  noEscrow: number;
  staleKey: number;
  nearLimit: number;
  orphanedKeys: number;
}

export interface EscrowCoverageReport {
  generatedAt: string;
  counts: EscrowCoverageCounts;
  noEscrow: NoEscrowRow[];
  staleKey: DeviceKeysRow[];
  nearLimit: DeviceKeysRow[];
  orphanedKeys: OrphanedKeyRow[];
}

export interface CoverageInputs {
  entries: readonly IndexedKey[];
  devices: readonly InventoryDevice[];
  managed: readonly InventoryManagedDevice[];
  generatedAt: string;
  thresholds: EscrowConfig;
}

const DAY_MS = 86_400_000;

function liveKeysByDevice(entries: readonly IndexedKey[]): Map<string, IndexedKey[]> {
  const byDevice = new Map<string, IndexedKey[]>();
  for (const entry of entries) {
    if (entry.removedAt !== null) continue;
    const list = byDevice.get(entry.deviceId);
    if (list) list.push(entry);
    else byDevice.set(entry.deviceId, [entry]);
  }
  return byDevice;
}

function deviceRows(byDevice: Map<string, IndexedKey[]>, names: Map<string, string>): DeviceKeysRow[] {
  return [...byDevice].map(([deviceId, keys]) => ({
    deviceId,
    deviceName: names.get(deviceId) ?? '',
    keyCount: keys.length,
    newestKeyCreatedDateTime: keys.reduce((newest, key) => (key.createdDateTime > newest ? key.createdDateTime : newest), ''),
  }));
}

export function computeEscrowCoverage(inputs: CoverageInputs): EscrowCoverageReport {
  // GUIDs compared as GUIDs: the key list, /devices and Intune need not spell them in one case.
  const entries = inputs.entries.map((entry) => ({ ...entry, deviceId: entry.deviceId.toLowerCase() }));
  const devices = inputs.devices.map((device) => ({ ...device, deviceId: device.deviceId.toLowerCase() }));
  const managed = inputs.managed.map((m) => ({ ...m, azureADDeviceId: m.azureADDeviceId.toLowerCase() }));
  const { generatedAt, thresholds } = inputs;
  const names = new Map(devices.map((d) => [d.deviceId, d.displayName]));
  const byDevice = liveKeysByDevice(entries);
  const encrypted = managed.filter((m) => m.isEncrypted && m.operatingSystem.toLowerCase() === 'windows');
  const noEscrow = [...new Map(encrypted.filter((m) => !byDevice.has(m.azureADDeviceId)).map((m) => [m.azureADDeviceId, m])).values()].map((m) => ({
    deviceId: m.azureADDeviceId,
    deviceName: names.get(m.azureADDeviceId) ?? m.deviceName,
    managedDeviceId: m.id,
  }));
  const rows = deviceRows(byDevice, names).filter((row) => names.has(row.deviceId));
  const staleBefore = new Date(Date.parse(generatedAt) - thresholds.maxKeyAgeDays * DAY_MS).toISOString();
  const staleKey = rows.filter((row) => row.newestKeyCreatedDateTime < staleBefore);
  const nearLimit = rows.filter((row) => row.keyCount > thresholds.keyCountWarn);
  const orphanedKeys = entries
    .filter((entry) => !names.has(entry.deviceId))
    .map((entry) => ({ id: entry.id, deviceId: entry.deviceId, volumeType: entry.volumeType, createdDateTime: entry.createdDateTime, removedAt: entry.removedAt, note: ORPHANED_KEY_NOTE }));
  const byName = <T extends { deviceName: string; deviceId: string }>(a: T, b: T) => a.deviceName.localeCompare(b.deviceName) || a.deviceId.localeCompare(b.deviceId);
  return {
    generatedAt,
    counts: {
      devices: devices.length,
      managedWindowsEncrypted: encrypted.length,
      keys: entries.filter((entry) => entry.removedAt === null).length,
      noEscrow: noEscrow.length,
      staleKey: staleKey.length,
      nearLimit: nearLimit.length,
      orphanedKeys: orphanedKeys.length,
    },
    noEscrow: noEscrow.sort(byName),
    staleKey: staleKey.sort(byName),
    nearLimit: nearLimit.sort((a, b) => b.keyCount - a.keyCount || byName(a, b)),
    orphanedKeys: orphanedKeys.sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.createdDateTime.localeCompare(b.createdDateTime)),
  };
}

const CSV_HEADER = 'gap,deviceId,deviceName,keyId,keyCount,date,note';

function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  // A cell a spreadsheet would run as a formula is quoted with a leading apostrophe.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The report as CSV: one row per gap, `gap` saying which list it is from. */
export function coverageCsv(report: EscrowCoverageReport): string {
  const rows: (string | number | null)[][] = [
    ...report.noEscrow.map((r) => ['noEscrow', r.deviceId, r.deviceName, null, 0, null, 'encrypted and managed by Intune, but no recovery key is escrowed in Entra ID']),
    ...report.staleKey.map((r) => ['staleKey', r.deviceId, r.deviceName, null, r.keyCount, r.newestKeyCreatedDateTime, 'newest key older than ESCROW_MAX_KEY_AGE_DAYS']),
    ...report.nearLimit.map((r) => ['nearLimit', r.deviceId, r.deviceName, null, r.keyCount, r.newestKeyCreatedDateTime, 'more keys than ESCROW_KEY_COUNT_WARN (Entra keeps at most 200)']),
    ...report.orphanedKeys.map((r) => ['orphanedKey', r.deviceId, '', r.id, null, r.createdDateTime, r.note]),
  ];
  return `${[CSV_HEADER, ...rows.map((row) => row.map(csvField).join(','))].join('\r\n')}\r\n`;
}
