import Type from 'typebox';
import type { FastifyInstance } from 'fastify';

/** Liveness (the process answers) and readiness (it can audit, so it may disclose). */
export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Object({ audit: Type.String() })) });

  app.get('/healthz', { schema: { hide: true, response: { 200: Health } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true, response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const writable = await app.keydesk.audit.isWritable();
    return reply.code(writable ? 200 : 503).send({ status: writable ? 'ready' : 'not_ready', checks: { audit: writable ? 'writable' : 'not_writable' } });
  });
}
