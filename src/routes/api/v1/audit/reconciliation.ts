import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { apiReaderOf } from '../../../../auth/audit-caller.js';
import { auditTimeMs, checkAuditFilter } from '../../../../audit/query.js';
import { APP_ROLES } from '../../../../auth/roles.js';
import { problemResponses } from '../../../../schemas/api.js';
import { inputProblem } from '../../../../schemas/problem-examples.js';
import { ReconciliationQuery, ReconciliationResponse, ReconciliationRunResponse } from '../../../../schemas/reconciliation.js';

/**
 * The reconciliation of KeyDesk's disclosures with Entra's own audit log of recovery-key reads:
 * what it found, and a run started now. The runs themselves are the leader's (src/reconcile).
 */

const AUDITOR_PROBLEMS = ['unauthorized', 'forbidden', 'app_token_required', 'internal_error', 'identity_provider_unavailable', 'shutting_down'] as const;

const reportProblems = problemResponses(
  { instance: '/api/v1/audit/reconciliation', invalidRequest: inputProblem('querystring', 'maxLength', '/from', { limit: 40 }) },
  'invalid_request',
  'audit_unavailable',
  ...AUDITOR_PROBLEMS,
);
const runProblems = problemResponses({ instance: '/api/v1/audit/reconciliation/run' }, 'audit_unavailable', ...AUDITOR_PROBLEMS);

const reconciliationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit/reconciliation',
    {
      config: { requiredRole: APP_ROLES.audit },
      schema: {
        operationId: 'getReconciliation',
        summary: "Key reads in Entra's log that KeyDesk did not make, and disclosures Entra does not show",
        description:
          "`outOfBand`: every \"Read BitLocker key\" event of Entra's directory audit that matches no KeyDesk intent record (another app, a person in the admin portal, a script); each is also written once as an `out_of_band_read` record and an alert. `missingInEntra`: granted disclosures with no Entra event `RECONCILE_GRACE_MINUTES` after them. Answered from KeyDesk's own store of the events, so it reaches back further than Entra keeps them. Each look is itself recorded (`audit_query`, `details.report: \"reconciliation\"`, with the filters and the number of findings).",
        tags: ['audit'],
        querystring: ReconciliationQuery,
        response: { 200: ReconciliationResponse, ...reportProblems },
      },
    },
    async (request) => {
      // The same times as the audit records' filters: a date alone is midnight UTC.
      checkAuditFilter(request.query);
      const instant = (value: string | undefined) => (value === undefined ? undefined : new Date(auditTimeMs(value)!).toISOString());
      const window = { from: instant(request.query.from), to: instant(request.query.to) };
      return app.auditReader.report(apiReaderOf(request), 'reconciliation', { ...request.query }, () => app.reconciliation.report(window), (found) => found.outOfBand.length + found.missingInEntra.length);
    },
  );

  app.post(
    '/audit/reconciliation/run',
    {
      config: { requiredRole: APP_ROLES.audit },
      schema: {
        operationId: 'runReconciliation',
        summary: 'Start a reconciliation run now',
        description:
          "Starts a run in the background and answers 202 at once; while a run is under way (on any instance) it answers 202 `already_running` and starts none. Follow the result in `GET /api/v1/audit/reconciliation` (`lastRun`). The request is recorded first (`audit_query`, `details.report: \"reconciliation\"`, `details.run: \"requested\"`); unrecorded, no run starts (503 `audit_unavailable`). Entra's audit log API takes at most 5 requests per 10 s: a run paces itself.",
        tags: ['audit'],
        response: { 202: ReconciliationRunResponse, ...runProblems },
      },
    },
    async (request, reply) => reply.code(202).send({ status: await app.auditReader.requestRun(apiReaderOf(request), 'reconciliation', () => app.reconciliation.start()) }),
  );
};

export default reconciliationRoutes;
