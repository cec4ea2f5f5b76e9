import type { Device, DeviceSearchResult, DirectoryUser, GraphGateway, IntuneRecord, RecoveryKeyMetadata } from './types.js';

/**
 * Remembers device resolution (name -> devices, device ID -> device, its key metadata and its Intune
 * record, UPN -> user) for a short while, so a warm disclosure costs one Graph request: the key
 * read itself. Recovery passwords are never cached: every read must reach Graph (and Entra's audit
 * log). Key metadata (IDs, volume types, dates) is cached with the device; a key ID that matches no
 * cached key has the list refreshed once before it is refused, and a device whose cached keys
 * turned out stale is forgotten (`forgetDevice`).
 *
 * The price is staleness: an owner or primary user changed in Entra or Intune, or an account
 * disabled, applies after at most `ttlMs`. Empty answers are not cached, so a device registered a moment ago is found.
 */

export interface DeviceCacheOptions {
  ttlMs: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry<T> {
  expires: number;
  value: Promise<T>;
}

class ExpiringMap<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  /**
   * Concurrent callers for one key share one Graph request. A failure or an answer `keep` rejects
   * is forgotten at once, so the next caller asks Graph again.
   */
  get(key: string, load: () => Promise<T>, keep: (value: T) => boolean, fresh = false): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit && hit.expires > this.now() && !fresh) return hit.value;
    if (hit) this.#entries.delete(key);
    const value = load();
    const entry: Entry<T> = { expires: this.now() + this.ttlMs, value };
    this.#entries.set(key, entry);
    const forget = () => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    };
    value.then((resolved) => (keep(resolved) ? undefined : forget()), forget);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return value;
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets every entry whose settled value `holds` (a name whose devices include a forgotten one). */
  forgetWhere(holds: (value: T) => boolean): void {
    for (const [key, entry] of this.#entries) void entry.value.then((value) => holds(value) && this.#entries.get(key) === entry && this.#entries.delete(key), () => undefined);
  }
}

export function withDeviceCache(graph: GraphGateway, options: DeviceCacheOptions): GraphGateway {
  if (options.ttlMs <= 0) return graph;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const byName = new ExpiringMap<DeviceSearchResult>(options.ttlMs, maxEntries, now);
  const byDeviceId = new ExpiringMap<Device | null>(options.ttlMs, maxEntries, now);
  const intune = new ExpiringMap<IntuneRecord | null>(options.ttlMs, maxEntries, now);
  const users = new ExpiringMap<DirectoryUser | null>(options.ttlMs, maxEntries, now);
  const keys = new ExpiringMap<RecoveryKeyMetadata[]>(options.ttlMs, maxEntries, now);

  return {
    // Display names are case-insensitive in Entra's filter, but the key stays exact: a cache must
    // never answer for a query Graph would have answered differently.
    findDevicesByName: (name, budget) => byName.get(name, () => graph.findDevicesByName(name, budget), (result) => result.devices.length > 0),
    findDevicesByPrefix: (prefix, budget) => graph.findDevicesByPrefix(prefix, budget),
    getDevice: (deviceId, budget) => byDeviceId.get(deviceId.toLowerCase(), () => graph.getDevice(deviceId, budget), (device) => device !== null),
    // "Not managed by Intune" is an answer worth keeping: most look-ups of such a device repeat it.
    getIntuneRecord: (deviceId, budget) => intune.get(deviceId.toLowerCase(), () => graph.getIntuneRecord(deviceId, budget), () => true),
    findUserByUpn: (upn, budget) => users.get(upn.toLowerCase(), () => graph.findUserByUpn(upn, budget), (user) => user !== null),
    // Metadata only (never `key`); `fresh` asks Graph and keeps its answer for the next caller.
    listRecoveryKeys: (deviceId, budget, options) => keys.get(deviceId.toLowerCase(), () => graph.listRecoveryKeys(deviceId, budget), () => true, options?.fresh === true),
    readRecoveryPassword: (keyId, clientRequestId, budget) => graph.readRecoveryPassword(keyId, clientRequestId, budget),
    cachesRecoveryKeys: true,
    forgetDevice(deviceId) {
      const id = deviceId.toLowerCase();
      for (const map of [byDeviceId, intune, keys] as ExpiringMap<unknown>[]) map.forget(id);
      byName.forgetWhere((result) => result.devices.some((device) => device.deviceId.toLowerCase() === id));
    },
  };
}
