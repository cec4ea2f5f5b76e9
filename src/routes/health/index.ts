import Type from 'typebox';
import type { FastifyInstance } from 'fastify';
import { problemContent, problemDescription, problemResponses } from '../../schemas/api.js';

/**
 * Liveness (the process answers) and readiness (it can audit, verify tokens and call Graph, so it
 * may disclose). Both are outside the API's security: probes carry no token.
 */

const CheckState = Type.Enum(['ok', 'failing', 'pending'], { description: 'pending before the first background check; failing after two failed checks in a row', examples: ['ok'] });

const Liveness = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false, description: 'The process answers' });

const Readiness = Type.Object(
  {
    status: Type.Enum(['ready', 'not_ready'], { examples: ['ready'] }),
    checks: Type.Object(
      {
        audit: Type.Enum(['writable', 'not_writable'], { examples: ['writable'] }),
        identityProvider: CheckState,
        graphToken: CheckState,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'Whether this instance may take disclosures, and each check behind the answer' },
);

const NOT_READY = {
  not_ready: { summary: 'Entra ID failed two checks in a row', value: { status: 'not_ready', checks: { audit: 'writable', identityProvider: 'failing', graphToken: 'ok' } } },
};

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'liveness',
        summary: 'Liveness: the process answers',
        tags: ['health'],
        security: [],
        // While the process stops, any request (a probe too) gets a `shutting_down` problem.
        response: { 200: Liveness, ...problemResponses({ instance: '/healthz' }, 'shutting_down') },
      },
    },
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
        response: {
          200: Readiness,
          503: {
            description: `Not ready, or ${problemDescription(['shutting_down'])}`,
            content: { 'application/json': { schema: Readiness, examples: NOT_READY }, ...problemContent({ instance: '/readyz' }, ['shutting_down']) },
          },
        },
      },
    },
    async (_request, reply) => {
      const status = await app.readiness.status();
      return reply.code(status.status === 'ready' ? 200 : 503).send(status);
    },
  );
}
