import { describe, expect, it } from 'vitest';
import { latestPerKey } from '../../src/jobs/latest-per-key.js';

/** Work released by the test: each run waits until the test lets it end. */
function gatedRuns() {
  const started: string[] = [];
  const gates: Array<() => void> = [];
  let running = 0;
  let most = 0;
  const run = async (input: string) => {
    started.push(input);
    running += 1;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running -= 1;
  };
  const releaseAll = async () => {
    while (gates.length > 0) {
      for (const open of gates.splice(0)) open();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { run, started, releaseAll, most: () => most };
}

describe('latestPerKey: background work one run per key, the latest input waiting', () => {
  it('runs at most `concurrency` at once and one per key, and keeps only the latest input of a waiting key', async () => {
    const gated = gatedRuns();
    const errors: unknown[] = [];
    const queue = latestPerKey(gated.run, { concurrency: 2, onError: (error) => errors.push(error) });
    queue.submit('device-a', 'a1');
    queue.submit('device-a', 'a2');
    queue.submit('device-a', 'a3');
    queue.submit('device-b', 'b1');
    queue.submit('device-c', 'c1');
    queue.submit('device-c', 'c2');
    expect(gated.started).toEqual(['a1', 'b1']);
    let idle = false;
    const waited = queue.idle().then(() => (idle = true));
    await gated.releaseAll();
    await waited;
    // a2 was superseded by a3 while a1 ran; c1 by c2 before it started; waiting keys go in the order they were last queued.
    expect(gated.started).toEqual(['a1', 'b1', 'a3', 'c2']);
    expect(gated.most()).toBe(2);
    expect(idle).toBe(true);
    expect(errors).toEqual([]);
  });

  it('hands a failed run to onError and goes on with the others', async () => {
    const errors: unknown[] = [];
    const done: string[] = [];
    const queue = latestPerKey(
      async (input: string) => {
        if (input === 'bad') throw new Error('pool closed');
        done.push(input);
      },
      { concurrency: 1, onError: (error) => errors.push(error) },
    );
    queue.submit('x', 'bad');
    queue.submit('y', 'good');
    await queue.idle();
    expect(done).toEqual(['good']);
    expect(errors).toEqual([new Error('pool closed')]);
  });

  it('is idle at once when nothing was submitted', async () => {
    const queue = latestPerKey(async () => undefined, { concurrency: 1, onError: () => undefined });
    await expect(queue.idle()).resolves.toBeUndefined();
  });
});
