import fastifySession, { type SessionStore } from '@fastify/session';
import type { Session } from 'fastify';

/**
 * Where staff sessions live. Any express-session compatible store fits (`get`, `set`, `destroy`
 * with callbacks). With REDIS_URL they live in Redis, shared by every instance
 * (./redis-session-store.ts); without it, in this process's memory: one instance only, and a
 * restart signs everybody out.
 */
export type { SessionStore };

/** How often the in-memory store looks for sessions nobody came back to. */
const SWEEP_INTERVAL_MS = 60_000;
/** Sessions kept at most; past it the least recently used is dropped (its staff member signs in again). */
export const MAX_MEMORY_SESSIONS = 10_000;

/**
 * @fastify/session's MemoryStore, over a map this module bounds: the MemoryStore alone never
 * forgets a session whose browser stopped coming back. Sessions exist only for signed-in staff
 * (no session before sign-in completes), and a session unused for longer than the idle timeout is
 * of no use to anyone.
 */
export type CountedSessionStore = SessionStore & {
  /** Sessions used within the idle timeout: what `keydesk_sessions` shows. */
  count(): number;
};

export function createMemorySessionStore(options: { idleMs: number; now: () => number; maxSessions?: number }): CountedSessionStore {
  const sessions = new Map<string, Session>();
  const store = new fastifySession.MemoryStore(sessions);
  const maxSessions = options.maxSessions ?? MAX_MEMORY_SESSIONS;
  let lastSweep = options.now();
  const sweep = () => {
    const now = options.now();
    if (now - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = now;
    for (const [id, session] of sessions) {
      if (now - (session.lastSeenAt ?? 0) > options.idleMs) sessions.delete(id);
    }
  };
  return {
    set(sessionId, session, callback) {
      sweep();
      // Re-inserted last, so the map's order is least recently saved first.
      sessions.delete(sessionId);
      while (sessions.size >= maxSessions) sessions.delete(sessions.keys().next().value!);
      store.set(sessionId, session, callback);
    },
    get(sessionId, callback) {
      store.get(sessionId, callback);
    },
    destroy(sessionId, callback) {
      store.destroy(sessionId, callback);
    },
    count() {
      const now = options.now();
      let live = 0;
      for (const session of sessions.values()) if (now - (session.lastSeenAt ?? 0) <= options.idleMs) live += 1;
      return live;
    },
  };
}
