import { describe, expect, it } from 'vitest';
import type { Session } from 'fastify';
import { createMemorySessionStore } from '../../src/auth/session-store.js';

const get = (store: ReturnType<typeof createMemorySessionStore>, id: string) =>
  new Promise<Session | null | undefined>((resolve) => store.get(id, (_error, session) => resolve(session)));
const set = (store: ReturnType<typeof createMemorySessionStore>, id: string, session: Partial<Session>) =>
  new Promise<void>((resolve) => store.set(id, session as Session, () => resolve()));

describe('the in-memory session store', () => {
  it('keeps at most maxSessions, dropping the least recently saved', async () => {
    const store = createMemorySessionStore({ idleMs: 60_000, now: () => 0, maxSessions: 3 });
    for (const id of ['a', 'b', 'c']) await set(store, id, { lastSeenAt: 0 });
    await set(store, 'a', { lastSeenAt: 0 });
    await set(store, 'd', { lastSeenAt: 0 });
    expect(await get(store, 'b')).toBeFalsy();
    for (const id of ['a', 'c', 'd']) expect(await get(store, id)).toBeTruthy();
  });

  it('forgets sessions idle for longer than the idle timeout', async () => {
    let clock = 0;
    const store = createMemorySessionStore({ idleMs: 60_000, now: () => clock });
    await set(store, 'old', { lastSeenAt: 0 });
    clock = 5 * 60_000;
    await set(store, 'new', { lastSeenAt: clock });
    expect(await get(store, 'old')).toBeFalsy();
    expect(await get(store, 'new')).toBeTruthy();
  });
});
