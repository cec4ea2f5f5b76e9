import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APP_ROLES } from '../../../../auth/roles.js';
import { coverageCsv } from '../../../../coverage/escrow-coverage.js';
import { KeyDeskProblem } from '../../../../problem/problem.js';
import { problemResponses } from '../../../../schemas/api.js';
import { EscrowCoverageHistoryResponse, EscrowCoverageQuery, EscrowCoverageResponse } from '../../../../schemas/escrow-coverage.js';
import { inputProblem } from '../../../../schemas/problem-examples.js';

/** The escrow coverage report: computed after each full sync of the key index, read here. */

const AUDITOR_PROBLEMS = ['unauthorized', 'forbidden', 'app_token_required', 'internal_error', 'identity_provider_unavailable', 'shutting_down'] as const;

const reportProblems = problemResponses(
  { instance: '/api/v1/reports/escrow-coverage', invalidRequest: inputProblem('querystring', 'enum', '/format', { allowedValues: ['json', 'csv'] }) },
  'invalid_request',
  'not_found',
  ...AUDITOR_PROBLEMS,
);
const historyProblems = problemResponses({ instance: '/api/v1/reports/escrow-coverage/history' }, ...AUDITOR_PROBLEMS);

function noReportYet(): KeyDeskProblem {
  return new KeyDeskProblem('not_found', 'No escrow coverage report yet: it is computed after each full sync of the key index. Start one with POST /api/v1/recovery-keys/sync, or wait for the next (KEY_INDEX_SYNC_HOURS).');
}

const escrowCoverageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/reports/escrow-coverage',
    {
      config: { requiredRole: [APP_ROLES.lookup, APP_ROLES.audit] },
      schema: {
        operationId: 'getEscrowCoverage',
        summary: 'Where BitLocker recovery would fail today: the escrow coverage report',
        description:
          'The latest report, computed after each full sync of the key index: encrypted Windows devices Intune manages with no key in Entra, devices whose newest key is older than ESCROW_MAX_KEY_AGE_DAYS, devices with more keys than ESCROW_KEY_COUNT_WARN, and keys whose device was deleted from Entra. `format=csv` gives one row per gap.',
        tags: ['reports'],
        querystring: EscrowCoverageQuery,
        response: {
          200: {
            description: 'The report (JSON), or its gaps as CSV',
            content: {
              'application/json': { schema: EscrowCoverageResponse },
              'text/csv': { schema: { type: 'string', description: 'RFC 4180 CSV: gap, deviceId, deviceName, keyId, keyCount, date, note' } },
            },
          },
          ...reportProblems,
        },
      },
    },
    async (request, reply) => {
      const report = await app.escrowCoverage.latest();
      if (!report) throw noReportYet();
      if (request.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="keydesk-escrow-coverage-${report.generatedAt.slice(0, 10)}.csv"`)
          .send(coverageCsv(report));
      }
      return reply.type('application/json; charset=utf-8').send(report);
    },
  );

  app.get(
    '/reports/escrow-coverage/history',
    {
      config: { requiredRole: [APP_ROLES.lookup, APP_ROLES.audit] },
      schema: {
        operationId: 'getEscrowCoverageHistory',
        summary: "The escrow coverage report's counts, day by day",
        description: "Each day's last report's counts, oldest first: is coverage getting better?",
        tags: ['reports'],
        response: { 200: EscrowCoverageHistoryResponse, ...historyProblems },
      },
    },
    async () => ({ days: await app.escrowCoverage.history() }),
  );
};

export default escrowCoverageRoutes;
