import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Security headers on every response (@fastify/helmet). The API serves JSON only, so its CSP
 * allows nothing; the Swagger UI at /docs sets its own (staticCSP) and the web UI's pages theirs.
 */
async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, { global: true, contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } });
}

export default fp(securityHeaders, { name: 'helmet', fastify: '5.x' });
