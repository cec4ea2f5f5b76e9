import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from 'pino';
import { keyIndexSyncJob } from '../../src/jobs/key-index-sync-job.js';
import type { JobContext } from '../../src/jobs/periodic-jobs.js';
import type { KeyIndex } from '../../src/key-index/key-index.js';
import type { KeyIndexSyncStatus } from '../../src/key-index/types.js';
import { testConfig } from '../helpers/config.js';

/** The leader's schedule for the key-index sync, on fake timers: when it starts a sync and when it does not. */

const HOUR = 3_600_000;
const START = Date.parse('2026-12-02T12:00:00.000Z');

function fakeIndex(status: Partial<KeyIndexSyncStatus>) {
  const started: number[] = [];
  const index = {
    status: async () => ({ state: 'succeeded', startedAt: null, completedAt: null, lastSuccessAt: null, pages: 0, keys: 0, error: null, ...status }) as KeyIndexSyncStatus,
    startSync: async () => {
      started.push(Date.now());
      return 'started' as const;
    },
    idle: async () => undefined,
    stop: async () => undefined,
  } as unknown as KeyIndex;
  return { index, started };
}

function contextOf(env: Record<string, string>, leader = true): JobContext {
  return { config: testConfig(env), audit: null as never, isLeader: () => leader, logger: { error: vi.fn() } as unknown as Logger };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the key-index sync job', () => {
  it('syncs a minute after start-up when the index was never synced', async () => {
    const { index, started } = fakeIndex({ state: 'never' });
    const job = keyIndexSyncJob(index)(contextOf({}))!;
    job.start();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toHaveLength(1);
    await job.stop();
  });

  it('waits until the last success is KEY_INDEX_SYNC_HOURS old', async () => {
    const { index, started } = fakeIndex({ lastSuccessAt: new Date(START - 23 * HOUR).toISOString() });
    const job = keyIndexSyncJob(index)(contextOf({ KEY_INDEX_SYNC_HOURS: '24' }))!;
    job.start();
    await vi.advanceTimersByTimeAsync(50 * 60_000);
    expect(started).toEqual([]);
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    expect(started).toHaveLength(1);
    await job.stop();
  });

  it('does nothing on a follower, and is off with KEY_INDEX_SYNC_HOURS=0', async () => {
    const { index, started } = fakeIndex({ state: 'never' });
    const follower = keyIndexSyncJob(index)(contextOf({}, false))!;
    follower.start();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(started).toEqual([]);
    await follower.stop();
    expect(keyIndexSyncJob(index)(contextOf({ KEY_INDEX_SYNC_HOURS: '0' }))).toBeNull();
  });
});
