import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { childElector, database, elector } from './leader-kit.js';

/** A child process that leads, and an elector in this process that has seen it lead. */
async function childLeaderAndFollower() {
  const db = await database();
  const leader = childElector(db.url);
  await expect.poll(() => leader.said(), { timeout: 10_000, interval: 50 }).toContain('leader');
  const follower = elector(db.url);
  await sleep(1_000);
  expect(follower.isLeader()).toBe(false);
  return { leader, follower };
}

describe('the leader election when the leader process dies or freezes', () => {
  it('lets another process lead within 30 s of the leader being killed with kill -9', async () => {
    const { leader, follower } = await childLeaderAndFollower();

    leader.kill('SIGKILL');
    await expect.poll(() => follower.isLeader(), { timeout: 30_000, interval: 100 }).toBe(true);
  }, 45_000);

  // A frozen process (SIGSTOP) looks to PostgreSQL like a vanished host: its kernel keeps the
  // connection open (and would answer keepalives), but it sends nothing. The server's
  // idle_session_timeout ends its session.
  it('lets another process lead within 30 s when the leader stops sending anything (SIGSTOP)', async () => {
    const { leader, follower } = await childLeaderAndFollower();
    const frozenAt = Date.now();
    leader.kill('SIGSTOP');

    await expect.poll(() => follower.isLeader(), { timeout: 30_000, interval: 100 }).toBe(true);
    // Not before the server could tell: a leader may be silent for up to 15 s between heartbeats.
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(10_000);
    // Woken, it reads that its session was ended and stops leading.
    leader.kill('SIGCONT');
    await expect.poll(() => leader.said(), { timeout: 10_000, interval: 50 }).toContain('follower');
  }, 45_000);
});
