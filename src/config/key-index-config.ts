import type { EnvReader } from './config.js';

/**
 * KEY_INDEX_*: how often the leader rebuilds the key-ID index from Graph's tenant-wide recovery
 * key list, and how fast it may ask. No limit is published for the BitLocker API; the identity
 * and access budget (3,500 resource units per 10 s for a small tenant) is shared with every other
 * app, so the sync asks politely and leaves room for disclosures.
 */
export interface KeyIndexConfig {
  /** Hours between full syncs; 0 turns the periodic sync off (`POST /api/v1/recovery-keys/sync` still starts one). */
  syncHours: number;
  /** Most Graph requests the sync makes in any 10 seconds. */
  requestsPer10s: number;
}

export function readKeyIndexConfig(reader: EnvReader): KeyIndexConfig {
  return {
    syncHours: reader.integer('KEY_INDEX_SYNC_HOURS', 24, 0, 720, 'set how often the leader syncs the key-ID index from Graph, in hours (0 turns the periodic sync off)'),
    requestsPer10s: reader.integer(
      'KEY_INDEX_SYNC_REQUESTS_PER_10S',
      20,
      1,
      1_000,
      "set how many Graph requests the key-index sync may make in any 10 seconds (it shares the tenant's Graph budget with disclosures)",
    ),
  };
}
