import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from 'pino';
import { rotationJob } from '../../src/jobs/rotation-job.js';
import type { JobContext } from '../../src/jobs/periodic-jobs.js';
import { testConfig } from '../helpers/config.js';

/** The leader's look at open rotations, on fake timers: every ROTATION_CHECK_SECONDS, on the leader only. */

function contextOf(env: Record<string, string>, leader = true): JobContext {
  return { config: testConfig(env), audit: null as never, isLeader: () => leader, logger: { error: vi.fn() } as unknown as Logger };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the rotation job', () => {
  it('checks the open rotations every ROTATION_CHECK_SECONDS on the leader', async () => {
    const checkOpen = vi.fn(async () => undefined);
    const job = rotationJob({ checkOpen })(contextOf({ ROTATION_CHECK_SECONDS: '10' }))!;
    job.start();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(checkOpen).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(checkOpen).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(checkOpen).toHaveBeenCalledTimes(3);
    await job.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(checkOpen).toHaveBeenCalledTimes(3);
  });

  it('checks nothing on an instance that does not lead, and logs a failed look without stopping', async () => {
    const follower = vi.fn(async () => undefined);
    const job = rotationJob({ checkOpen: follower })(contextOf({ ROTATION_CHECK_SECONDS: '5' }, false))!;
    job.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(follower).not.toHaveBeenCalled();
    await job.stop();

    const failing = vi.fn(async () => {
      throw new Error('graph down');
    });
    const context = contextOf({ ROTATION_CHECK_SECONDS: '5' });
    const leader = rotationJob({ checkOpen: failing })(context)!;
    leader.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(failing).toHaveBeenCalledTimes(2);
    expect(context.logger.error).toHaveBeenCalledTimes(2);
    await leader.stop();
  });
});
