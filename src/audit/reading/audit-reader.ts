import { KeyDeskProblem } from '../../problem/problem.js';
import { auditEntry } from '../entry.js';
import type { AuditCaller, AuditFilter, AuditPage, AuditPageRequest, AuditRecord, AuditTrail, ExportedRecord } from '../types.js';
import { csvHeader, csvRow } from './csv.js';

/**
 * The one entry point for reading the trail on an auditor's behalf, shared by the API and the
 * pages: every query, record look-up and export is itself recorded (`audit_query`,
 * `audit_export`), durably, before anything is served. A record that cannot be written rejects
 * with the store's `audit_unavailable`, and nothing is served (fail closed).
 *
 * A query or look-up is recorded once its result is known, with the row count. An export's count
 * is known only at its end, so it is recorded twice: `details.stage: "started"` (filters, format)
 * before the first byte, and `"completed"` with `rowCount` and the started record's id after the
 * last row; when the second cannot be written the response is cut off before its end, so the
 * auditor sees an incomplete download rather than a complete one nobody recorded as such.
 */

/** The answer for an id the trail does not hold. */
export function auditRecordNotFound(): KeyDeskProblem {
  return new KeyDeskProblem('not_found', 'The audit trail holds no record with this id. Check the id (a disclosure names its record as auditRecordId), or search with GET /api/v1/audit/records.');
}

export type ExportFormat = 'csv' | 'jsonl';

/** Who reads, through which door, in which request. */
export interface ReaderContext {
  caller: AuditCaller;
  via: 'api' | 'web';
  requestId: string;
  callerRequestId: string | null;
}

export interface AuditExport {
  contentType: string;
  filename: string;
  /** The file, a piece at a time; reading it to the end writes the completed record. */
  body: AsyncIterable<string>;
}

const CONTENT_TYPES: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8' };

export class AuditReader {
  constructor(
    private readonly trail: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async query(context: ReaderContext, filter: AuditFilter, page: AuditPageRequest): Promise<AuditPage> {
    const found = await this.trail.query(filter, page);
    await this.#record(context, 'audit_query', { filters: { ...filter }, cursor: page.cursor ?? null, limit: page.limit ?? null, rowCount: found.records.length });
    return found;
  }

  async record(context: ReaderContext, id: string): Promise<AuditRecord | null> {
    const found = await this.trail.findRecord(id);
    await this.#record(context, 'audit_query', { filters: { id }, rowCount: found === null ? 0 : 1 });
    return found;
  }

  /**
   * A report drawn from the trail rather than its records (the chain's verification, the
   * reconciliation with Entra's log): read, then recorded as an `audit_query` naming the report,
   * before it is served, like any other look at the trail.
   */
  async report<T>(context: ReaderContext, report: 'verification' | 'reconciliation', filters: Record<string, unknown>, read: () => Promise<T>, rowCount: (found: T) => number): Promise<T> {
    const found = await read();
    await this.#record(context, 'audit_query', { report, filters, rowCount: rowCount(found) });
    return found;
  }

  /**
   * A report's run asked for now (`POST …/reconciliation/run`): recorded first, as an
   * `audit_query` naming the report with `details.run: "requested"`, so who started it is on the
   * record; then started. Unrecorded, it does not start.
   */
  async requestRun<T>(context: ReaderContext, report: 'reconciliation', start: () => Promise<T>): Promise<T> {
    await this.#record(context, 'audit_query', { report, run: 'requested' });
    return start();
  }

  /** Writes the started record, then hands over the file to stream. */
  async export(context: ReaderContext, filter: AuditFilter, format: ExportFormat): Promise<AuditExport> {
    const filters = { ...filter };
    // The trail checks the filter before anything is recorded: a malformed time is the caller's mistake, not an export.
    await this.trail.query(filter, { limit: 1 });
    const started = await this.#record(context, 'audit_export', { stage: 'started', filters, format, rowCount: null });
    const stamp = this.now().toISOString().replace(/[:.]/g, '-');
    return {
      contentType: CONTENT_TYPES[format],
      filename: `keydesk-audit-${stamp}.${format === 'csv' ? 'csv' : 'jsonl'}`,
      body: this.#body(context, this.trail.exportRecords(filter), format, { filters, startedRecordId: started.id }),
    };
  }

  async *#body(context: ReaderContext, records: AsyncIterable<ExportedRecord>, format: ExportFormat, started: { filters: AuditFilter; startedRecordId: string }): AsyncGenerator<string> {
    let rowCount = 0;
    if (format === 'csv') yield csvHeader();
    for await (const { record, line } of records) {
      rowCount += 1;
      yield format === 'csv' ? csvRow(record) : `${line}\n`;
    }
    await this.#record(context, 'audit_export', { stage: 'completed', filters: started.filters, format, rowCount, startedRecordId: started.startedRecordId });
  }

  #record(context: ReaderContext, action: 'audit_query' | 'audit_export', details: Record<string, unknown>): Promise<AuditRecord> {
    return this.trail.append(
      auditEntry({ action, outcome: 'granted', code: null, requestId: context.requestId, callerRequestId: context.callerRequestId, caller: context.caller, details: { via: context.via, ...details } }),
    );
  }
}
