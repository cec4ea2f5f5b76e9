import type { GraphGateway } from '../graph/types.js';
import type { KeyIndex } from './key-index.js';

/**
 * The gateway, with each key list Graph gives for a device handed to the key index as it passes:
 * a look-up or a disclosure keeps the device's entries current between full syncs (a key escrowed
 * since, a key gone). Wrapped inside the device cache, so it sees Graph's answers, not the cache's.
 */
export function withKeyIndexRefresh(graph: GraphGateway, index: Pick<KeyIndex, 'refreshDevice'>): GraphGateway {
  // Each method named: the gateway may be a class instance, whose methods a spread would lose.
  return {
    findDevicesByName: (name, budget) => graph.findDevicesByName(name, budget),
    findDevicesByPrefix: (prefix, budget) => graph.findDevicesByPrefix(prefix, budget),
    getDevice: (deviceId, budget) => graph.getDevice(deviceId, budget),
    getIntuneRecord: (deviceId, budget) => graph.getIntuneRecord(deviceId, budget),
    findUserByUpn: (upn, budget) => graph.findUserByUpn(upn, budget),
    async listRecoveryKeys(deviceId, budget, options) {
      const keys = await graph.listRecoveryKeys(deviceId, budget, options);
      index.refreshDevice(deviceId, keys);
      return keys;
    },
    readRecoveryPassword: (keyId, clientRequestId, budget) => graph.readRecoveryPassword(keyId, clientRequestId, budget),
    ...(graph.cachesRecoveryKeys === undefined ? {} : { cachesRecoveryKeys: graph.cachesRecoveryKeys }),
    ...(graph.forgetDevice ? { forgetDevice: (deviceId: string) => graph.forgetDevice!(deviceId) } : {}),
  };
}
