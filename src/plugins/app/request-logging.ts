import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Two log lines per request (`incoming request`, `request completed`), in place of Fastify's own
 * (turned off in buildApp): they show the path only (the logger's `req` serializer drops the
 * query), and health probes, which arrive every few seconds, are logged at debug.
 */

const PROBES = new Set(['/healthz', '/readyz']);

function levelOf(request: FastifyRequest): 'debug' | 'info' {
  return PROBES.has(request.url.split('?')[0]!) ? 'debug' : 'info';
}

async function requestLogging(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request) => {
    request.log[levelOf(request)]({ req: request, ...(request.callerRequestId ? { callerRequestId: request.callerRequestId } : {}) }, 'incoming request');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log[levelOf(request)]({ res: reply, responseTime: Math.round(reply.elapsedTime) }, 'request completed');
  });
}

export default fp(requestLogging, { name: 'request-logging', fastify: '5.x', dependencies: ['request-ids'] });
