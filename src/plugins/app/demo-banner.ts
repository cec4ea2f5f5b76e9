import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * A demo instance says so on every response, so nobody mistakes the simulated tenant's keys, or
 * its audit trail, for real ones.
 */
export const DEMO_HEADER = 'x-keydesk-demo';

const PAGE_BANNER =
  '<p class="demo-banner" role="note"><strong>DEMO</strong> — KeyDesk is connected to a simulated tenant: fictional people, devices and keys. Not for production.</p>';

async function demoBanner(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header(DEMO_HEADER, 'simulated tenant; not a real directory, not for production');
    // Pages say it where a person looks, not only in a header.
    const type = reply.getHeader('content-type');
    if (typeof payload === 'string' && typeof type === 'string' && type.startsWith('text/html')) {
      return payload.replace(/<body([^>]*)>/, (body) => `${body}\n${PAGE_BANNER}`);
    }
    return payload;
  });
}

export default fp(demoBanner, { name: 'demo-banner', fastify: '5.x' });
