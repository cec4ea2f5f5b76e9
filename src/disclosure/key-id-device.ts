import type { Device, GraphGateway } from '../graph/types.js';
import type { GraphBudget } from '../graph/request-budget.js';
import type { KeyIndex } from '../key-index/key-index.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { candidateOf } from './rules.js';

/**
 * A disclosure that names no device: the key ID read off the recovery screen finds it through the
 * key index. The index only points; the device it names is read from Graph, and everything after
 * (its enabled state, its key list, the key ID matched against that list, the requester) is
 * checked exactly as for a device named by the caller.
 */

export type KeyIdFinder = Pick<KeyIndex, 'findByKeyId' | 'status'>;

/** Devices read from Graph for an ambiguous_key_id answer; more are counted, not listed. */
const MAX_CANDIDATES = 5;

async function lastSyncWords(index: KeyIdFinder): Promise<string> {
  const { lastSuccessAt } = await index.status();
  return lastSuccessAt === null ? 'the key index has not completed a sync yet' : `the key index was last synced at ${lastSuccessAt}`;
}

function notFound(keyIdInput: string, when: string): KeyDeskProblem {
  return new KeyDeskProblem(
    'device_not_found',
    `No recovery key that Entra ID holds has an ID starting with ${keyIdInput.toUpperCase()} (${when}). Ask the caller to read the key ID again, or give the device name; a key escrowed since the last sync is found by the device's name.`,
  );
}

/** The devices whose keys the index holds under this key ID (Entra still holding them), deduplicated. */
async function indexedDeviceIds(index: KeyIdFinder, keyIdInput: string): Promise<string[]> {
  const entries = await index.findByKeyId(keyIdInput);
  return [...new Set(entries.filter((entry) => entry.removedAt === null).map((entry) => entry.deviceId))];
}

export async function findDeviceByKeyId(keyIdInput: string, index: KeyIdFinder | undefined, graph: GraphGateway, budget: GraphBudget): Promise<Device> {
  if (!index) throw notFound(keyIdInput, 'KeyDesk has no key index here');
  const deviceIds = await indexedDeviceIds(index, keyIdInput);
  if (deviceIds.length === 0) throw notFound(keyIdInput, await lastSyncWords(index));
  const devices = (await Promise.all(deviceIds.slice(0, MAX_CANDIDATES).map((id) => graph.getDevice(id, budget)))).filter((d): d is Device => d !== null);
  if (deviceIds.length > 1) {
    throw new KeyDeskProblem(
      'ambiguous_key_id',
      `The key ID ${keyIdInput.toUpperCase()} starts the IDs of recovery keys on ${deviceIds.length} devices. Ask the caller for more digits of the recovery key ID, or for the device name.`,
      { extensions: { candidates: devices.map(candidateOf) } },
    );
  }
  // The index may be behind Entra: a device deleted since the sync is not found in Graph.
  if (devices.length === 0) throw notFound(keyIdInput, `${await lastSyncWords(index)}, and its device is no longer in the directory`);
  return devices[0]!;
}
