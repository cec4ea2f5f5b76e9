import { randomBytes, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isRedisDown, sessionStoreUnavailable, type Redis, type SharedRedis } from '../redis/client.js';

/**
 * One reveal per form shown: each disclosure form carries a one-time token; a reveal consumes it,
 * so a reload or a back-and-resubmit posts a used token. Without Redis the token is kept in the
 * staff session. With Redis it is a key of its own, `<prefix>form-token:<token>` holding the
 * session id, stored before the page leaves and consumed with GETDEL: of two posts of one form to
 * two instances (which both read the same session), exactly one finds it.
 */

declare module 'fastify' {
  interface Session {
    /** The one-time token of the disclosure form last shown (without Redis). */
    revealFormToken?: string;
  }
  interface FastifyInstance {
    /** Where the web UI's one-time form tokens are kept (session or Redis). */
    formTokens: FormTokens;
  }
}

interface FormTokens {
  issue(request: FastifyRequest, token: string): void;
  consume(request: FastifyRequest, sent: string): Promise<boolean>;
}

export interface FormTokenOptions {
  /** Null: in the session (one instance). */
  shared: SharedRedis | null;
  /** How long an unsent form's token is kept in Redis: the session idle timeout. */
  idleMs: number;
}

const TOKEN_BYTES = 24;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** The token for the form being rendered; with Redis it is stored before the page is sent. */
export function newFormToken(request: FastifyRequest): string {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  request.server.formTokens.issue(request, token);
  return token;
}

/** Consumes the form's token; true when `sent` was a token shown to this session and not used yet. */
export async function consumeFormToken(request: FastifyRequest, sent: unknown): Promise<boolean> {
  return request.server.formTokens.consume(request, typeof sent === 'string' ? sent : '');
}

const inSession: FormTokens = {
  issue(request, token) {
    request.session.revealFormToken = token;
  },
  async consume(request, sent) {
    const expected = request.session.revealFormToken;
    request.session.revealFormToken = undefined;
    if (expected === undefined) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(sent);
    return a.length === b.length && timingSafeEqual(a, b);
  },
};

/** Tokens issued while rendering this request's page, stored in Redis by the onSend hook. */
const pendingTokens = new WeakMap<FastifyRequest, string[]>();

const formTokenKey = (keyPrefix: string, token: string) => `${keyPrefix}form-token:${token}`;

function inRedis(redis: Redis, keyPrefix: string): FormTokens {
  return {
    issue(request, token) {
      pendingTokens.set(request, [...(pendingTokens.get(request) ?? []), token]);
    },
    async consume(request, sent) {
      if (!TOKEN_PATTERN.test(sent)) return false;
      if (isRedisDown(redis)) throw sessionStoreUnavailable();
      const owner = await redis.getdel(formTokenKey(keyPrefix, sent)).catch((error: unknown) => {
        throw sessionStoreUnavailable(error);
      });
      return owner !== null && owner === request.session.sessionId;
    },
  };
}

async function storePending(redis: Redis, keyPrefix: string, request: FastifyRequest, idleMs: number): Promise<void> {
  const tokens = pendingTokens.get(request);
  // Once: should the write fail, the error page sent instead must not try again.
  pendingTokens.delete(request);
  // No session left (the store failed, src/plugins/external/session.ts): no form is shown either.
  if (!tokens || !request.session) return;
  if (isRedisDown(redis)) throw sessionStoreUnavailable();
  const seconds = Math.ceil(idleMs / 1000);
  await Promise.all(tokens.map((token) => redis.set(formTokenKey(keyPrefix, token), request.session.sessionId, 'EX', seconds))).catch((error: unknown) => {
    throw sessionStoreUnavailable(error);
  });
}

async function formTokens(app: FastifyInstance, options: FormTokenOptions): Promise<void> {
  const { shared } = options;
  if (!shared) {
    app.decorate('formTokens', inSession);
    return;
  }
  app.decorate('formTokens', inRedis(shared.redis, shared.keyPrefix));
  app.addHook('onSend', async (request) => {
    await storePending(shared.redis, shared.keyPrefix, request, options.idleMs);
  });
}

export default fp(formTokens, { name: 'form-tokens', fastify: '5.x' });
