import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * A demo instance says so on every response, so nobody mistakes the simulated tenant's keys, or
 * its audit trail, for real ones.
 */
export const DEMO_HEADER = 'x-keydesk-demo';

async function demoBanner(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', async (_request, reply) => {
    reply.header(DEMO_HEADER, 'simulated tenant; not a real directory, not for production');
  });
}

export default fp(demoBanner, { name: 'demo-banner', fastify: '5.x' });
