/**
 * Remembers, for a minute, which client addresses have had a log line: a loop of bad sign-in
 * callbacks costs one line a minute per address. Holds at most MAX_ADDRESSES addresses, so a
 * spread of addresses cannot grow it either.
 */
const MINUTE_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class LogOncePerMinute {
  readonly #loggedAt = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  allow(address: string): boolean {
    const at = this.now();
    const last = this.#loggedAt.get(address);
    if (last !== undefined && at - last < MINUTE_MS) return false;
    this.#loggedAt.delete(address);
    if (this.#loggedAt.size >= MAX_ADDRESSES) this.#forgetOldest(at);
    this.#loggedAt.set(address, at);
    return true;
  }

  #forgetOldest(at: number): void {
    for (const [address, loggedAt] of this.#loggedAt) {
      if (at - loggedAt >= MINUTE_MS || this.#loggedAt.size >= MAX_ADDRESSES) this.#loggedAt.delete(address);
      else break;
    }
  }
}
