import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * `Cache-Control: no-store` on every response: a recovery password must never rest in a proxy or
 * browser cache, and no other answer of KeyDesk is worth caching.
 */
async function noStore(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
  });
}

export default fp(noStore, { name: 'no-store', fastify: '5.x' });
