import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditRecordNotFound } from '../../../../audit/reading/audit-reader.js';
import { DEFAULT_API_AUDIT_PAGE } from '../../../../audit/types.js';
import { apiReaderOf as readerOf } from '../../../../auth/audit-caller.js';
import { APP_ROLES } from '../../../../auth/roles.js';
import { exportFormatOf, sendAuditExport } from '../../../../plugins/app/audit-reader.js';
import { problemResponses } from '../../../../schemas/api.js';
import { AuditRecordIdParams, AuditRecordsPage, AuditRecordsQuery, filterOf, type AuditRecordsQueryType } from '../../../../schemas/audit-api.js';
import { EXAMPLE } from '../../../../schemas/examples.js';
import { inputProblem } from '../../../../schemas/problem-examples.js';

/**
 * The audit trail for auditors (BitLocker.Audit): records by filter a page at a time, one record
 * by id, and exports. Every read is itself recorded by `app.auditReader` before it is served.
 */

const AUDIT_PROBLEMS = ['invalid_request', 'unauthorized', 'forbidden', 'app_token_required', 'internal_error', 'identity_provider_unavailable', 'audit_unavailable', 'shutting_down'] as const;

const listProblems = problemResponses({ instance: '/api/v1/audit/records', invalidRequest: inputProblem('querystring', 'pattern', '/limit', {}) }, ...AUDIT_PROBLEMS);
const recordProblems = problemResponses({ instance: `/api/v1/audit/records/${EXAMPLE.auditRecordId}`, invalidRequest: inputProblem('params', 'maxLength', '/id', { limit: 64 }) }, ...AUDIT_PROBLEMS, 'not_found');

/**
 * Records are served as the trail holds them (the stores normalise each to today's shape), so
 * JSON.stringify writes them: compiling a serializer for the record's many nullable members
 * would add seconds to every start-up for no change in the answer. The schema still documents it.
 */
const storedShape = () => (data: unknown) => JSON.stringify(data);

const auditRecordRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit/records',
    {
      config: { requiredRole: APP_ROLES.audit },
      serializerCompiler: storedShape,
      schema: {
        operationId: 'listAuditRecords',
        summary: 'Find audit records, or export them',
        description:
          'Records matching every filter given, newest first, `limit` at a time (default 100, at most 500); pass `nextCursor` back as `cursor` for the next page. ' +
          'With `format=csv|jsonl` (or `Accept: text/csv` / `application/x-ndjson`) every match is exported instead, oldest first, as a download; an unfiltered JSON Lines export is the trail itself, byte for byte. ' +
          'Every query and export is itself recorded (`audit_query`, `audit_export`).',
        tags: ['audit'],
        querystring: AuditRecordsQuery,
        response: {
          200: {
            description: 'A page of records (JSON), or the export (CSV or JSON Lines)',
            content: {
              'application/json': { schema: AuditRecordsPage },
              'text/csv': { schema: { type: 'string', description: 'RFC 4180 CSV, a header row of dotted member paths (README: "Audit API and pages")' } },
              'application/x-ndjson': { schema: { type: 'string', description: 'One record per line, exactly as the trail stores it' } },
            },
          },
          ...listProblems,
        },
      },
    },
    async (request, reply) => {
      const query = request.query as AuditRecordsQueryType;
      const format = exportFormatOf(query.format, request.headers.accept);
      if (format !== null) return sendAuditExport(reply, await app.auditReader.export(readerOf(request), filterOf(query), format));
      const limit = query.limit === undefined ? DEFAULT_API_AUDIT_PAGE : Number(query.limit);
      const page = await app.auditReader.query(readerOf(request), filterOf(query), { limit, cursor: query.cursor ?? null });
      return reply.type('application/json; charset=utf-8').send(page);
    },
  );

  app.get(
    '/audit/records/:id',
    {
      config: { requiredRole: APP_ROLES.audit },
      serializerCompiler: storedShape,
      schema: {
        operationId: 'getAuditRecord',
        summary: 'One audit record',
        description: 'The record with this id (a disclosure answer and its refusals name theirs as auditRecordId). The look-up is itself recorded (`audit_query`).',
        tags: ['audit'],
        params: AuditRecordIdParams,
        response: { 200: { description: 'The record', content: { 'application/json': { schema: { $ref: 'AuditRecord' } } } }, ...recordProblems },
      },
    },
    async (request) => {
      const record = await app.auditReader.record(readerOf(request), request.params.id);
      if (record === null) throw auditRecordNotFound();
      return record;
    },
  );
};

export default auditRecordRoutes;
