import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APP_ROLES } from '../../../../auth/access-token.js';
import { DisclosureBody, DisclosureResponse, ProblemRef } from '../../../../schemas/api.js';

const disclosureRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/disclosures',
    {
      config: { requiredRole: APP_ROLES.disclose, auditRefusalsAs: 'disclosure' },
      schema: {
        summary: 'Disclose the recovery password of one BitLocker recovery key',
        description:
          'Checks the ticket and reason, resolves the device, matches the key ID read off the recovery screen, ' +
          'checks that the requester owns the device, durably audits the attempt, then reads the one key from Graph. ' +
          'Every attempt, granted or refused, is audited.',
        tags: ['disclosures'],
        body: DisclosureBody,
        response: {
          201: DisclosureResponse,
          400: ProblemRef,
          401: ProblemRef,
          403: ProblemRef,
          404: ProblemRef,
          409: ProblemRef,
          413: ProblemRef,
          422: ProblemRef,
          502: ProblemRef,
          503: ProblemRef,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const granted = await app.keydesk.disclose(request, body);
      const warnings =
        granted.requester.verdict === 'warned'
          ? [`${body.requesterUpn} is not an owner or primary user of the device; disclosed because REQUESTER_CHECK=warn. The mismatch is in the audit record.`]
          : [];
      return reply.code(201).send({
        disclosureId: granted.disclosureId,
        auditRecordId: granted.auditRecordId,
        device: granted.device,
        recoveryKey: {
          id: granted.recoveryKey.id,
          volumeType: granted.recoveryKey.volumeType,
          createdDateTime: granted.recoveryKey.createdDateTime,
          key: granted.recoveryKey.key,
        },
        checks: { ...granted.checks, requesterMatchedAs: granted.requester.matchedAs },
        warnings,
      });
    },
  );
};

export default disclosureRoutes;
