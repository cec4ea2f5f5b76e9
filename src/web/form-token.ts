import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * One reveal per form shown: each disclosure form carries a one-time token kept in the staff
 * session; a reveal consumes it, so a reload or a back-and-resubmit posts a used token.
 */

declare module 'fastify' {
  interface Session {
    /** The one-time token of the disclosure form last shown. */
    revealFormToken?: string;
  }
}

export function newFormToken(request: FastifyRequest): string {
  const token = randomBytes(24).toString('base64url');
  request.session.revealFormToken = token;
  return token;
}

/** Consumes the session's token; true when `sent` was it. */
export function consumeFormToken(request: FastifyRequest, sent: unknown): boolean {
  const expected = request.session.revealFormToken;
  request.session.revealFormToken = undefined;
  if (expected === undefined || typeof sent !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}
