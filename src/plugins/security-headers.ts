import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Security headers on every response, and `Cache-Control: no-store`: a recovery password must
 * never rest in a proxy or browser cache, and no other answer of KeyDesk is worth caching.
 */
async function securityHeaders(app: FastifyInstance): Promise<void> {
  // The Swagger UI at /docs sets its own CSP (staticCSP); the API itself serves JSON only.
  await app.register(helmet, { global: true, contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
  });
}

export default fp(securityHeaders, { name: 'security-headers', fastify: '5.x' });
