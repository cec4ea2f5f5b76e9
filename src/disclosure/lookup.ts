import { KeyDeskProblem } from '../problem/problem.js';
import type { Device, DeviceSearchResult, GraphGateway, IntuneRecord, RecoveryKeyMetadata } from '../graph/types.js';

/** Look-ups that disclose nothing secret: finding a device and listing its key IDs. */

export interface DeviceQuery {
  name?: string | undefined;
  prefix?: string | undefined;
}

export async function findDevices(graph: GraphGateway, query: DeviceQuery): Promise<DeviceSearchResult> {
  if (query.name !== undefined && query.prefix === undefined) return graph.findDevicesByName(query.name);
  if (query.prefix !== undefined && query.name === undefined) return graph.findDevicesByPrefix(query.prefix);
  throw new KeyDeskProblem('invalid_request', 'Give exactly one of the query parameters name (exact match) or prefix.');
}

export interface DeviceRecoveryKeys {
  device: Device;
  intune: IntuneRecord | null;
  recoveryKeys: RecoveryKeyMetadata[];
}

export async function listDeviceRecoveryKeys(graph: GraphGateway, deviceId: string): Promise<DeviceRecoveryKeys> {
  const [device, recoveryKeys, intune] = await Promise.all([
    graph.getDevice(deviceId),
    graph.listRecoveryKeys(deviceId),
    graph.getIntuneRecord(deviceId),
  ]);
  if (!device) {
    throw new KeyDeskProblem('device_not_found', `No device with the device ID ${deviceId} exists in the directory.`);
  }
  return { device, intune, recoveryKeys: [...recoveryKeys].sort((a, b) => b.createdDateTime.localeCompare(a.createdDateTime)) };
}
