import Type from 'typebox';
import type { FastifyInstance } from 'fastify';

/**
 * Liveness (the process answers) and readiness (it can audit, verify tokens and call Graph, so it
 * may disclose). Both are outside the API's security: probes carry no token.
 */

const CheckState = Type.Enum(['ok', 'failing', 'pending']);

const Liveness = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });

const Readiness = Type.Object(
  {
    status: Type.Enum(['ready', 'not_ready']),
    checks: Type.Object(
      {
        audit: Type.Enum(['writable', 'not_writable']),
        identityProvider: CheckState,
        graphToken: CheckState,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/healthz',
    { schema: { operationId: 'liveness', summary: 'Liveness: the process answers', tags: ['health'], security: [], response: { 200: Liveness } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'readiness',
        summary: 'Readiness: the audit trail is writable, Entra answers and a Graph token is held',
        description: 'Not ready (503) before the first background check, after two failed checks in a row, or while the audit trail cannot be written.',
        tags: ['health'],
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const status = await app.readiness.status();
      return reply.code(status.status === 'ready' ? 200 : 503).send(status);
    },
  );
}
