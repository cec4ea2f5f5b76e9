import type { EnvReader } from './config.js';

/**
 * ESCROW_*: what the escrow coverage report (computed after each full key-index sync) counts as a
 * gap besides a device with no key at all.
 */
export interface EscrowConfig {
  /** A device whose newest key is older than this many days is listed as `staleKey`. */
  maxKeyAgeDays: number;
  /** A device with more keys than this is listed as `nearLimit` (Entra keeps at most 200 per device). */
  keyCountWarn: number;
}

export function readEscrowConfig(reader: EnvReader): EscrowConfig {
  return {
    maxKeyAgeDays: reader.integer('ESCROW_MAX_KEY_AGE_DAYS', 365, 1, 3_650, "set after how many days a device's newest escrowed key counts as stale in the escrow coverage report"),
    keyCountWarn: reader.integer('ESCROW_KEY_COUNT_WARN', 180, 1, 199, 'set how many keys a device may have before the escrow coverage report warns (Entra keeps at most 200 per device)'),
  };
}
