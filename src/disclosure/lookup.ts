import { KeyDeskProblem } from '../problem/problem.js';
import { GRAPH_REQUESTS_PER_REQUEST, GraphBudget } from '../graph/request-budget.js';
import type { Device, DeviceSearchResult, GraphGateway, IntuneRecord, RecoveryKeyMetadata } from '../graph/types.js';

/**
 * Look-ups that disclose nothing secret: finding a device and listing its key IDs. Each is one
 * request's work, under one Graph budget (at most GRAPH_REQUESTS_PER_REQUEST Graph requests).
 */

export interface DeviceQuery {
  name?: string | undefined;
  prefix?: string | undefined;
}

export interface DeviceRecoveryKeys {
  device: Device;
  intune: IntuneRecord | null;
  /** Newest first. */
  recoveryKeys: RecoveryKeyMetadata[];
}

export interface DeviceSearchRow {
  device: Device;
  /** Intune record and key count; null past `detailRows` (not looked up). */
  details: { intune: IntuneRecord | null; keyCount: number } | null;
  /** Another device in the results has the same name (case ignored). */
  duplicate: boolean;
}

export interface DeviceSearchWithDetails {
  rows: DeviceSearchRow[];
  capped: boolean;
  limit: number;
}

/** Graph requests the details of one search row cost: its key list and its Intune record. */
const DETAIL_REQUESTS_PER_ROW = 2;

export function createDeviceLookup(graph: GraphGateway) {
  const search = (query: DeviceQuery, budget: GraphBudget): Promise<DeviceSearchResult> => {
    if (query.name !== undefined && query.prefix === undefined) return graph.findDevicesByName(query.name, budget);
    if (query.prefix !== undefined && query.name === undefined) return graph.findDevicesByPrefix(query.prefix, budget);
    throw new KeyDeskProblem('invalid_request', 'Give exactly one of the query parameters name (exact match) or prefix.');
  };

  return {
    findDevices: (query: DeviceQuery) => search(query, new GraphBudget(GRAPH_REQUESTS_PER_REQUEST)),

    /**
     * A search whose first `detailRows` rows also get their key count and Intune primary user. The
     * search itself leaves room in the request's Graph budget for those details, so a wide prefix
     * shows fewer rows (capped) rather than spending the budget on pages nobody reads.
     */
    async searchWithDetails(query: DeviceQuery, detailRows: number): Promise<DeviceSearchWithDetails> {
      const budget = new GraphBudget(GRAPH_REQUESTS_PER_REQUEST);
      const found = await budget.reserving(detailRows * DETAIL_REQUESTS_PER_ROW, () => search(query, budget));
      // Whatever the search left of the budget decides how many rows get details.
      const detailed = Math.min(detailRows, Math.floor(budget.available / DETAIL_REQUESTS_PER_ROW));
      const names = new Map<string, number>();
      for (const device of found.devices) names.set(device.displayName.toLowerCase(), (names.get(device.displayName.toLowerCase()) ?? 0) + 1);
      const rows = await Promise.all(
        found.devices.map(async (device, index): Promise<DeviceSearchRow> => ({
          device,
          duplicate: (names.get(device.displayName.toLowerCase()) ?? 0) > 1,
          details: index < detailed ? await detailsOf(graph, device, budget) : null,
        })),
      );
      return { rows, capped: found.capped, limit: found.limit };
    },

    async recoveryKeysOf(deviceId: string): Promise<DeviceRecoveryKeys> {
      const budget = new GraphBudget(GRAPH_REQUESTS_PER_REQUEST);
      // The key list fresh from Graph (an agent is looking at it), and kept for the disclosure that follows.
      const [device, recoveryKeys, intune] = await Promise.all([graph.getDevice(deviceId, budget), graph.listRecoveryKeys(deviceId, budget, { fresh: true }), graph.getIntuneRecord(deviceId, budget)]);
      if (!device) throw new KeyDeskProblem('device_not_found', `No device with the device ID ${deviceId} exists in the directory.`);
      return { device, intune, recoveryKeys: newestFirst(recoveryKeys) };
    },
  };
}

export type DeviceLookup = ReturnType<typeof createDeviceLookup>;

export function newestFirst(keys: RecoveryKeyMetadata[]): RecoveryKeyMetadata[] {
  return [...keys].sort((a, b) => b.createdDateTime.localeCompare(a.createdDateTime));
}

async function detailsOf(graph: GraphGateway, device: Device, budget: GraphBudget): Promise<DeviceSearchRow['details']> {
  const [keys, intune] = await Promise.all([graph.listRecoveryKeys(device.deviceId, budget), graph.getIntuneRecord(device.deviceId, budget)]);
  return { intune, keyCount: keys.length };
}
