import type { GraphGateway } from '../graph/types.js';
import type { KeyIndex } from './key-index.js';

/**
 * The gateway, with each key list Graph gives for a device handed to the key index as it passes:
 * a look-up or a disclosure keeps the device's entries current between full syncs (a key escrowed
 * since, a key gone). Wrapped inside the device cache, so it sees Graph's answers, not the cache's.
 */
export function withKeyIndexRefresh(graph: GraphGateway, index: Pick<KeyIndex, 'refreshDevice'>): GraphGateway {
  return {
    ...graph,
    async listRecoveryKeys(deviceId, budget, options) {
      const keys = await graph.listRecoveryKeys(deviceId, budget, options);
      index.refreshDevice(deviceId, keys);
      return keys;
    },
  };
}
