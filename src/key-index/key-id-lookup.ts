import { GRAPH_REQUESTS_PER_REQUEST, GraphBudget } from '../graph/request-budget.js';
import type { Device, GraphGateway } from '../graph/types.js';
import type { IndexedKey } from './types.js';
import type { KeyIndex } from './key-index.js';

/**
 * The look-up behind `GET /api/v1/recovery-keys?keyIdPrefix=…` and the web search by key ID: the
 * index entries whose key ID starts with the digits, each with its device as Graph has it now
 * (null when Entra no longer holds the device). Metadata only, never a recovery password.
 */

export interface KeyIdMatch extends Pick<IndexedKey, 'id' | 'deviceId' | 'volumeType' | 'createdDateTime' | 'removedAt'> {
  device: Device | null;
}

/** Devices read from Graph for one look-up; a prefix this common is worth more digits. */
const MAX_DEVICES = 10;

export async function findRecoveryKeysByKeyId(index: Pick<KeyIndex, 'findByKeyId'>, graph: GraphGateway, keyIdPrefix: string): Promise<KeyIdMatch[]> {
  const entries = (await index.findByKeyId(keyIdPrefix)).sort((a, b) => b.createdDateTime.localeCompare(a.createdDateTime));
  const budget = new GraphBudget(GRAPH_REQUESTS_PER_REQUEST);
  const deviceIds = [...new Set(entries.map((entry) => entry.deviceId))].slice(0, MAX_DEVICES);
  const devices = new Map(await Promise.all(deviceIds.map(async (id) => [id, await graph.getDevice(id, budget)] as const)));
  return entries.map((entry) => ({
    id: entry.id,
    deviceId: entry.deviceId,
    volumeType: entry.volumeType,
    createdDateTime: entry.createdDateTime,
    removedAt: entry.removedAt,
    device: devices.get(entry.deviceId) ?? null,
  }));
}
