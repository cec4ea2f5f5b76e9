import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { apiReaderOf } from '../../../../auth/audit-caller.js';
import { APP_ROLES } from '../../../../auth/roles.js';
import { problemResponses } from '../../../../schemas/api.js';
import { ChainVerificationSchema } from '../../../../schemas/audit-api.js';
import { latestVerification } from '../../../../audit/verification/chain-verification.js';

/** The leader's latest background verification of the chain: a request reads it, never walks the chain. */

const verificationProblems = problemResponses(
  { instance: '/api/v1/audit/verification' },
  'unauthorized',
  'forbidden',
  'app_token_required',
  'internal_error',
  'identity_provider_unavailable',
  'audit_unavailable',
  'shutting_down',
);

const auditVerificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit/verification',
    {
      config: { requiredRole: APP_ROLES.audit },
      schema: {
        operationId: 'getAuditVerification',
        summary: 'The latest verification of the audit chain',
        description:
          'KeyDesk\'s leader verifies the whole chain every `AUDIT_VERIFY_INTERVAL_MINUTES` (and soon after it starts) and keeps the result; this answers the latest one. ' +
          'Before the first run every member is null. `checkpoint` compares the chain with its newest signed checkpoint. Each look is itself recorded (`audit_query`, `details.report: "verification"`).',
        tags: ['audit'],
        response: { 200: ChainVerificationSchema, ...verificationProblems },
      },
    },
    async (request) => app.auditReader.report(apiReaderOf(request), 'verification', {}, () => latestVerification(app.chainVerifications), (found) => (found.verifiedAt === null ? 0 : 1)),
  );
};

export default auditVerificationRoutes;
