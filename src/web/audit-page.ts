import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReaderContext } from '../audit/reading/audit-reader.js';
import { auditRecordNotFound } from '../audit/reading/audit-reader.js';
import { DEFAULT_API_AUDIT_PAGE, type AuditRecord } from '../audit/types.js';
import { readerContextOf } from '../auth/audit-caller.js';
import { APP_ROLES } from '../auth/roles.js';
import { sendAuditExport } from '../plugins/app/audit-reader.js';
import { validationProblem } from '../problem/validation.js';
import { latestVerification } from '../audit/verification/chain-verification.js';
import { AuditFilterQuery, AuditRecordsQuery, filterOf, type AuditRecordsQueryType, type ChainVerificationAnswer } from '../schemas/audit-api.js';
import { formatDateTime } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, sendPage, viewerOf } from './pages.js';

/**
 * The auditors' pages (BitLocker.Audit): the trail searched with the audit API's filters, a page
 * at a time, one record, a CSV download, and the leader's latest chain verification. They read
 * through `app.auditReader`, as the API does, so every query and export is recorded the same way.
 */

const FILTER_NAMES = Object.keys(AuditFilterQuery) as (keyof typeof AuditFilterQuery)[];

/** The form's fields, without the empty ones a GET form sends, checked by the API's own schema. */
function pageQuery(request: FastifyRequest): AuditRecordsQueryType {
  const raw = Object.fromEntries(Object.entries(request.query as Record<string, unknown>).filter(([, value]) => value !== ''));
  const validate = request.compileValidationSchema(AuditRecordsQuery);
  if (!validate(raw)) throw validationProblem(validate.errors ?? [], 'querystring');
  return raw as AuditRecordsQueryType;
}

function readerOf(request: FastifyRequest, clientId: string): ReaderContext {
  const staff = request.staff!;
  return readerContextOf({ kind: 'user', appId: clientId, oid: staff.oid, upn: staff.upn, name: staff.name }, 'web', request);
}

function queryString(query: AuditRecordsQueryType, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (query[name] !== undefined) params.set(name, query[name]);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

type FilterName = keyof typeof AuditFilterQuery;

/** The filters as an auditor reads them: grouped, each with a plain label (the API name stays the field's name). */
const FILTER_LABELS: Record<FilterName, string> = {
  from: 'From',
  to: 'To',
  action: 'Action',
  outcome: 'Outcome',
  code: 'Problem code',
  door: 'Door',
  disclosureId: 'Disclosure ID',
  caller: 'Caller',
  agentUpn: 'Agent',
  requesterUpn: 'Requester',
  deviceId: 'Device ID',
  deviceName: 'Device name',
  recoveryKeyId: 'Recovery key ID',
  ticket: 'Ticket',
};

export const FILTER_GROUPS: readonly [string, readonly FilterName[]][] = [
  ['When', ['from', 'to']],
  ['What', ['action', 'outcome', 'code', 'door']],
  ['Who', ['caller', 'agentUpn', 'requesterUpn']],
  ['Device, key or ticket', ['deviceName', 'deviceId', 'recoveryKeyId', 'ticket', 'disclosureId']],
];

function filterField(name: FilterName, query: AuditRecordsQueryType): SafeHtml {
  const schema = AuditFilterQuery[name] as { description?: string; enum?: string[] };
  const label = html`<label for="audit-${name}">${FILTER_LABELS[name]} <span class="hint">${schema.description ?? ''}</span></label>`;
  if (schema.enum !== undefined) {
    const options = schema.enum.map((value) => html`<option value="${value}"${query[name] === value ? html` selected` : ''}>${value}</option>`);
    return html`<div class="field">${label}<select id="audit-${name}" name="${name}"><option value="">any</option>${options}</select></div>\n`;
  }
  return html`<div class="field">${label}<input id="audit-${name}" name="${name}" maxlength="256" autocomplete="off" spellcheck="false" value="${query[name] ?? ''}"></div>\n`;
}

function filterForm(query: AuditRecordsQueryType): SafeHtml {
  const groups = FILTER_GROUPS.map(([legend, names]) => html`<fieldset class="filter-group"><legend>${legend}</legend>
${names.map((name) => filterField(name, query))}</fieldset>\n`);
  return html`<form method="get" action="/audit" role="search" class="search-form audit-filters">
${groups}<button type="submit">Search the trail</button>
</form>`;
}

function chainStatus(verification: ChainVerificationAnswer): SafeHtml {
  if (verification.verifiedAt === null) return html`<p class="chain-status" id="chain-status">Chain status: not verified yet. KeyDesk verifies the whole chain in the background (AUDIT_VERIFY_INTERVAL_MINUTES).</p>`;
  if (verification.intact) {
    return html`<p class="chain-status" id="chain-status">Chain status: <strong>intact</strong>: ${String(verification.records)} records verified up to seq ${String(verification.head?.seq ?? 0)} at ${formatDateTime(verification.verifiedAt)}.${verification.checkpoint?.agrees === false ? html` <strong>The signed checkpoint disagrees:</strong> ${verification.checkpoint.problem ?? ''}` : ''}</p>`;
  }
  return html`<div class="refusal chain-status" id="chain-status" role="alert"><p>Chain status: <strong>NOT intact</strong> (verified ${formatDateTime(verification.verifiedAt)}): the chain breaks at line ${String(verification.firstBroken?.line ?? '?')} (seq ${String(verification.firstBroken?.seq ?? '?')}): ${verification.firstBroken?.reason ?? ''}. Tell the security team and run npm run audit:verify.</p></div>`;
}

function recordRow(record: AuditRecord): SafeHtml {
  return html`<tr class="audit-record"><td data-label="Seq">${String(record.seq)}</td><td data-label="Time" class="date">${formatDateTime(record.time)}</td><td data-label="Action">${record.action}</td><td data-label="Outcome">${record.outcome}${record.code ? html` (<code>${record.code}</code>)` : ''}</td><td data-label="Caller">${record.caller?.upn ?? record.caller?.appId ?? ''}</td><td data-label="Device">${record.device?.displayName ?? record.device?.deviceId ?? ''}</td><td data-label="Requester">${record.requesterUpn ?? ''}</td><td data-label="Ticket">${record.ticket ?? ''}</td><td data-label="Record"><a href="/audit/records/${encodeURIComponent(record.id)}">${record.id}</a></td></tr>\n`;
}

function resultsTable(records: AuditRecord[], next: string | null): SafeHtml {
  if (records.length === 0) return html`<p>No record matches.</p>`;
  return html`<table class="results">
<caption>${String(records.length)} ${records.length === 1 ? 'record' : 'records'}, newest first</caption>
<thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Caller</th><th scope="col">Device</th><th scope="col">Requester</th><th scope="col">Ticket</th><th scope="col">Record</th></tr></thead>
<tbody>
${records.map(recordRow)}</tbody>
</table>
${next === null ? '' : html`<p class="links"><a href="/audit?${next}" id="older-records">Older records</a></p>`}`;
}

function recordPage(record: AuditRecord): SafeHtml {
  const rows = Object.entries(record).map(([name, value]) => html`<tr><th scope="row">${name}</th><td><code>${value === null ? 'null' : typeof value === 'object' ? JSON.stringify(value) : String(value)}</code></td></tr>\n`);
  return html`<h1>Audit record ${String(record.seq)}</h1>
<table class="results audit-record-detail"><tbody>
${rows}</tbody></table>
<p class="links"><a href="/audit">Back to the audit trail</a></p>`;
}

export default async function auditPages(app: FastifyInstance, options: { clientId: string }): Promise<void> {
  const onlyAuditors = app.requireStaff(APP_ROLES.audit);

  app.get('/audit', { schema: { hide: true }, preHandler: onlyAuditors }, async (request, reply) => {
    const query = pageQuery(request);
    const limit = query.limit === undefined ? DEFAULT_API_AUDIT_PAGE : Number(query.limit);
    const page = await app.auditReader.query(readerOf(request, options.clientId), filterOf(query), { limit, cursor: query.cursor ?? null });
    const next = page.nextCursor === null ? null : queryString(query, { cursor: page.nextCursor, limit: String(limit) });
    const body = html`<h1>Audit trail</h1>
${chainStatus(await latestVerification(app.chainVerifications))}
${filterForm(query)}
<p class="links"><a href="/audit/export.csv?${queryString(query)}" id="csv-download" download>Download every match as CSV</a></p>
${resultsTable(page.records, next)}`;
    return sendPage(reply, 200, layout({ title: 'Audit trail', staff: viewerOf(request, reply), body }));
  });

  app.get<{ Params: { id: string } }>('/audit/records/:id', { schema: { hide: true, params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } }, preHandler: onlyAuditors }, async (request, reply) => {
    const record = await app.auditReader.record(readerOf(request, options.clientId), request.params.id);
    if (record === null) throw auditRecordNotFound();
    return sendPage(reply, 200, layout({ title: `Audit record ${record.seq}`, staff: viewerOf(request, reply), body: recordPage(record) }));
  });

  app.get('/audit/export.csv', { schema: { hide: true }, preHandler: onlyAuditors }, async (request, reply) => {
    const query = pageQuery(request);
    return sendAuditExport(reply, await app.auditReader.export(readerOf(request, options.clientId), filterOf(query), 'csv'));
  });
}
