import fp from 'fastify-plugin';
import Negotiator from 'negotiator';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AuditReader, type AuditExport, type ExportFormat } from '../../audit/reading/audit-reader.js';
import type { AuditTrail } from '../../audit/types.js';
import type { VerificationLog } from '../../audit/verification/chain-verification.js';

/** Reading the trail for auditors (API and pages alike), and the leader's latest chain verification. */

declare module 'fastify' {
  interface FastifyInstance {
    auditReader: AuditReader;
    chainVerifications: VerificationLog;
  }
}

async function auditReader(app: FastifyInstance, options: { trail: AuditTrail; verifications: VerificationLog }): Promise<void> {
  app.decorate('auditReader', new AuditReader(options.trail));
  app.decorate('chainVerifications', options.verifications);
}

export default fp(auditReader, { name: 'audit-reader', fastify: '5.x' });

/** An export as a download, streamed: the reply reads the file only as fast as the client takes it. */
export function sendAuditExport(reply: FastifyReply, exported: AuditExport): FastifyReply {
  return reply
    .header('content-disposition', `attachment; filename="${exported.filename}"`)
    .type(exported.contentType)
    .send(Readable.from(exported.body));
}

const EXPORT_TYPES: Record<string, ExportFormat | 'json'> = { 'application/json': 'json', 'text/csv': 'csv', 'application/x-ndjson': 'jsonl' };

/**
 * `format`, else the type the Accept header prefers among JSON, CSV and JSON Lines, q-values
 * honoured (`negotiator`); null: a page of JSON, also for no Accept, `*\/*` or none of the three.
 */
export function exportFormatOf(format: ExportFormat | undefined, accept: string | undefined): ExportFormat | null {
  if (format !== undefined) return format;
  const wanted = new Negotiator({ headers: { accept: accept ?? '*/*' } }).mediaType(Object.keys(EXPORT_TYPES));
  const chosen = wanted === undefined ? undefined : EXPORT_TYPES[wanted];
  return chosen === undefined || chosen === 'json' ? null : chosen;
}
