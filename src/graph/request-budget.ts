/**
 * How many Graph requests one KeyDesk request may make. A wide prefix search could otherwise fan
 * out into hundreds of Graph calls (pages, then details per row), spending the tenant's throttling
 * budget on rows nobody reads. Each look-up or disclosure makes one budget and hands it to the
 * gateway calls it makes (passed, not carried in async context: AsyncLocalStorage costs every
 * promise of the process a hook on Node 20).
 */
export const GRAPH_REQUESTS_PER_REQUEST = 25;

export class GraphBudget {
  #spent = 0;
  #reserved = 0;

  constructor(readonly limit: number) {}

  /** Requests still available to whoever has not reserved them. */
  get available(): number {
    return this.limit - this.#spent - this.#reserved;
  }

  /** Counts one request; false (and nothing counted) when none is left. */
  trySpend(): boolean {
    if (this.#spent >= this.limit) return false;
    this.#spent += 1;
    return true;
  }

  /**
   * Keeps `count` requests back from `available` while `work` runs (a search leaves room for the
   * details of its first rows), then frees them for whatever follows.
   */
  async reserving<T>(count: number, work: () => Promise<T>): Promise<T> {
    const held = Math.max(0, Math.min(count, this.available));
    this.#reserved += held;
    try {
      return await work();
    } finally {
      this.#reserved -= held;
    }
  }
}
