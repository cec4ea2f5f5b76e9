import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeyDeskProblem } from '../../problem/problem.js';
import { METRICS_CONTENT_TYPE, type MetricsSource } from '../../metrics/exposition.js';

/**
 * `GET /metrics` on the main port, for a Prometheus that presents METRICS_TOKEN as a bearer
 * token. Registered only while the token is set: without it the path is as unknown as any other.
 * A scrape is not audited (it reads no key and names no caller) and keeps no state per client, so
 * anonymous traffic costs one hash and a 401.
 */

export interface MetricsRouteOptions {
  token: string;
  source: MetricsSource;
}

const BEARER = /^Bearer +(\S+)$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time whatever the lengths: both sides are hashed to 32 bytes first (the token is never empty). */
function tokenMatches(authorization: string | undefined, expected: Buffer): boolean {
  return timingSafeEqual(digest(authorization?.match(BEARER)?.[1] ?? ''), expected);
}

export default async function metricsRoute(app: FastifyInstance, options: MetricsRouteOptions): Promise<void> {
  const expected = digest(options.token);
  const authorise = async (request: FastifyRequest) => {
    if (!tokenMatches(request.headers.authorization, expected)) {
      throw new KeyDeskProblem('unauthorized', 'Send the metrics token (METRICS_TOKEN) as "Authorization: Bearer <token>".', {
        headers: { 'www-authenticate': 'Bearer realm="keydesk-metrics"' },
      });
    }
  };
  app.get('/metrics', { schema: { hide: true }, onRequest: authorise }, async (_request, reply) => {
    const text = await options.source();
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });
}
