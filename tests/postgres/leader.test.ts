import { describe, expect, it } from 'vitest';
import { startLeaderElection } from '../../src/jobs/leader.js';
import { memoryLogger } from '../audit/audit-kit.js';
import { database, elector, leaders, lockHolder } from './leader-kit.js';
import { superuser, SHARED_PG } from './pg-kit.js';


describe('the leader election on PostgreSQL', () => {
  it('makes exactly one of two electors on one database the leader, and logs it once', async () => {
    const db = await database();
    const electors = [elector(db.url), elector(db.url)];
    await expect.poll(() => leaders(electors), { timeout: 5_000, interval: 50 }).toBe(1);
    // Through the follower's next try (every 5 s), still one.
    for (let check = 0; check < 30; check += 1) {
      expect(leaders(electors)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const leader = electors.find((e) => e.isLeader())!;
    expect(leader.log.lines.filter((line) => String(line.msg).includes('now the leader'))).toHaveLength(1);
    expect(electors.find((e) => !e.isLeader())!.log.text()).not.toContain('now the leader');
  }, 15_000);

  it('hands leadership to the other process within about 6 s of the leader stopping', async () => {
    const db = await database();
    const electors = [elector(db.url), elector(db.url)];
    await expect.poll(() => leaders(electors), { timeout: 5_000, interval: 50 }).toBe(1);
    const leader = electors.find((e) => e.isLeader())!;
    const follower = electors.find((e) => !e.isLeader())!;
    const changes: boolean[] = [];
    leader.onChange((value) => changes.push(value));

    await leader.stop();
    expect(leader.isLeader()).toBe(false);
    expect(changes).toEqual([false]);
    await expect.poll(() => follower.isLeader(), { timeout: 6_500, interval: 50 }).toBe(true);
  }, 15_000);

  it('gives leadership up at once when the server ends the leader\'s session (pg_terminate_backend)', async () => {
    const db = await database();
    const only = elector(db.url);
    await expect.poll(() => only.isLeader(), { timeout: 5_000, interval: 50 }).toBe(true);
    const changes: boolean[] = [];
    only.onChange((value) => changes.push(value));

    await superuser(SHARED_PG, async (client) => client.query('SELECT pg_terminate_backend($1)', [await lockHolder(db)]));
    await expect.poll(() => only.isLeader(), { timeout: 1_000, interval: 20 }).toBe(false);
    expect(changes).toEqual([false]);
    expect(only.log.text()).toContain('no longer the leader');
    // Its next try (5 s on) takes the free lock again.
    await expect.poll(() => only.isLeader(), { timeout: 7_000, interval: 50 }).toBe(true);
  }, 15_000);
});

describe('the leader election without a database (the file store)', () => {
  it('makes this process the leader at once', async () => {
    const log = memoryLogger();
    const election = startLeaderElection({ databaseUrl: null, logger: log.logger });
    expect(election.isLeader()).toBe(true);
    await election.stop();
  });
});
