/**
 * A client-side limit of at most `limit` requests in any `windowMs`: Microsoft documents 5
 * requests per 10 seconds for the audit log API (per app and tenant), so KeyDesk waits its turn
 * rather than spend its retries on 429s. Shared by every request of the reconciliation.
 */
export interface RequestPacerOptions {
  limit: number;
  windowMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class RequestPacer {
  readonly #sent: number[] = [];
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: RequestPacerOptions) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** Resolves when one more request may go; callers are served in order. */
  take(): Promise<void> {
    const turn = this.#queue.then(() => this.#wait());
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #wait(): Promise<void> {
    for (;;) {
      const now = this.#now();
      while (this.#sent.length > 0 && this.#sent[0]! <= now - this.#windowMs) this.#sent.shift();
      if (this.#sent.length < this.#limit) {
        this.#sent.push(now);
        return;
      }
      await this.#sleep(this.#sent[0]! + this.#windowMs - now);
    }
  }
}
