import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * Every response carries KeyDesk's own request id (`x-request-id`, a UUID), the one its log and
 * audit records use. A caller's own `x-request-id`, when it looks like one, is kept beside it as
 * `callerRequestId` (log and audit record) so a ticketing system can find its call; it never
 * replaces KeyDesk's.
 */

export const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

declare module 'fastify' {
  interface FastifyRequest {
    callerRequestId: string | null;
  }
}

async function requestIds(app: FastifyInstance): Promise<void> {
  app.decorateRequest('callerRequestId', null);
  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-request-id'];
    request.callerRequestId = typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : null;
    reply.header('x-request-id', request.id);
  });
}

export default fp(requestIds, { name: 'request-ids', fastify: '5.x' });
