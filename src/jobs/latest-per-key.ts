/**
 * Background work started by requests (an alert rule to count, a device's keys to write to the
 * index), run after the answer: one run at a time per key, at most `concurrency` runs at once,
 * and a key already waiting keeps only its latest input (a later record or key list supersedes
 * an earlier one). What waits is bounded by the keys in play (rules × subjects, devices), not by
 * the request rate, and no run waits for a pooled connection longer than the runs before it take:
 * under a burst, work handed straight to a small pool queued past the pool's checkout timeout and
 * was lost ("timeout exceeded when trying to connect").
 */

export interface LatestPerKey<T> {
  /** Queues `input` for `key`, replacing an input of that key still waiting; returns at once. */
  submit(key: string, input: T): void;
  /** Resolves once nothing waits or runs, work submitted meanwhile included. */
  idle(): Promise<void>;
}

/** `run` handles its own errors; one that escapes is given to `onError` and the queue goes on. */
export function latestPerKey<T>(run: (input: T) => Promise<void>, options: { concurrency: number; onError: (error: unknown) => void }): LatestPerKey<T> {
  const waiting = new Map<string, T>();
  const running = new Set<string>();
  let idleWaiters: Array<() => void> = [];

  const settle = () => {
    if (waiting.size > 0 || running.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const start = (key: string, input: T) => {
    running.add(key);
    waiting.delete(key);
    void run(input)
      .catch(options.onError)
      .finally(() => {
        running.delete(key);
        pump();
        settle();
      });
  };

  // A key that is running stays in `waiting` until its run ends; at most `concurrency` are skipped.
  const pump = () => {
    for (const [key, input] of waiting) {
      if (running.size >= options.concurrency) return;
      if (!running.has(key)) start(key, input);
    }
  };

  return {
    submit(key, input) {
      waiting.delete(key);
      waiting.set(key, input);
      pump();
    },
    idle: () => (waiting.size === 0 && running.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
  };
}
