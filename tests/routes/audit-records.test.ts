import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import nock from 'nock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import type { AuditEntry, AuditRecord, AuditTrail } from '../../src/audit/types.js';
import { CSV_COLUMNS } from '../../src/audit/reading/csv.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { disclosureEntry, memoryLogger, sealedLines, tempAuditFile, writeLines } from '../audit/audit-kit.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, issueUserToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';

/**
 * The audit API over a file trail: a month of disclosures of LAPTOP-X among others, queried,
 * paged, looked up and exported as an auditor would.
 */

const RECORDS = 40;
const idAt = (seq: number) => `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`;
/** One record a day from 2026-11-01; every fourth is a granted disclosure of LAPTOP-X. */
const timeAt = (seq: number) => new Date(Date.UTC(2026, 10, 1) + (seq - 1) * 86_400_000 * 0.75).toISOString();
function entryAt(seq: number): AuditEntry {
  if (seq % 4 === 0) return disclosureEntry({ device: { id: 'obj-x', deviceId: 'dev-x', displayName: 'LAPTOP-X' }, ticket: `INC${seq}`, requesterUpn: `user${seq}@contoso.example` });
  if (seq === 7) return disclosureEntry({ outcome: 'refused', code: 'requester_not_owner', device: { id: 'obj-x', deviceId: 'dev-x', displayName: 'LAPTOP-X' }, ticket: '=HYPERLINK("http://evil")', comment: '+1 call me, "urgent"' });
  return disclosureEntry({ ticket: `INC${seq}`, device: { id: `obj-${seq}`, deviceId: `dev-${seq}`, displayName: `LAPTOP-${seq}` } });
}

describe('GET /api/v1/audit/records on the file store', () => {
  let entraKey: SigningKey;
  let harness: Harness;
  let file: string;
  let trail: AuditTrail;

  beforeAll(async () => {
    entraKey = await makeSigningKey();
  });
  beforeEach(async () => {
    nock.disableNetConnect();
    mockEntraDiscovery([entraKey]);
    file = await tempAuditFile();
    await writeLines(file, sealedLines(RECORDS, entryAt, { idAt, timeAt }).lines);
    trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });
    harness = await buildHarness('audit-records', { audit: trail });
  });
  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const token = (roles = ['BitLocker.Audit']) => issueAppToken(entraKey, { roles });
  const get = async (url: string, headers: Record<string, string> = {}) => harness.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await token()}`, ...headers } });
  const trailRecords = async () => (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord);

  it('answers who got the key of LAPTOP-X in November, for whom and under which ticket, newest first, and records the query', async () => {
    const response = await get('/api/v1/audit/records?deviceName=laptop-x&action=disclosure&outcome=granted&from=2026-11-01&to=2026-11-16');
    expect(response.statusCode).toBe(200);
    const { records, nextCursor } = response.json() as { records: AuditRecord[]; nextCursor: string | null };
    // 2026-11-16 is 15 days in: seq up to 21 (time 15 days = seq 21); the granted LAPTOP-X ones are 4, 8, 12, 16, 20.
    expect(records.map((r) => [r.seq, r.requesterUpn, r.ticket])).toEqual([20, 16, 12, 8, 4].map((seq) => [seq, `user${seq}@contoso.example`, `INC${seq}`]));
    expect(nextCursor).toBeNull();
    const recorded = (await trailRecords()).at(-1)!;
    expect(recorded).toMatchObject({ action: 'audit_query', outcome: 'granted', caller: { kind: 'app', appId: expect.any(String) } });
    expect(recorded.details).toMatchObject({ via: 'api', rowCount: 5, filters: { deviceName: 'laptop-x', action: 'disclosure', outcome: 'granted', from: '2026-11-01', to: '2026-11-16' } });
  });

  it('pages with limit and cursor until nextCursor is null, each record once, and defaults to 100', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = (await get(`/api/v1/audit/records?limit=15${cursor ? `&cursor=${cursor}` : ''}`)).json() as { records: AuditRecord[]; nextCursor: string | null };
      expect(page.records.length).toBeLessThanOrEqual(15);
      seen.push(...page.records.map((r) => r.seq));
      cursor = page.nextCursor;
    } while (cursor !== null);
    // Each page's own audit_query record comes after the first page began: only the original 40 are seen.
    expect(seen).toEqual(Array.from({ length: RECORDS }, (_, i) => RECORDS - i));
    const all = (await get('/api/v1/audit/records')).json() as { records: AuditRecord[] };
    expect(all.records.length).toBe(RECORDS + 3);
  });

  it.each([
    ['limit=501', '/limit'],
    ['limit=0', '/limit'],
    ['limit=000100', '/limit'],
    ['limit=ten', '/limit'],
    ['from=yesterday', null],
    ['outcome=won', '/outcome'],
    ['colour=red', '/colour'],
  ])('refuses %s as 400 invalid_request problem+json, recording nothing', async (query, path) => {
    const before = (await trailRecords()).length;
    const response = await get(`/api/v1/audit/records?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json().code).toBe('invalid_request');
    if (path) expect(response.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await trailRecords()).length).toBe(before);
  });

  it('gives one record by id, and 404 not_found for an id the trail does not hold', async () => {
    const found = await get(`/api/v1/audit/records/${idAt(8)}`);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ seq: 8, id: idAt(8), ticket: 'INC8', device: { displayName: 'LAPTOP-X' } });
    const missing = await get(`/api/v1/audit/records/${randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.json().code).toBe('not_found');
    const recorded = (await trailRecords()).slice(-2);
    expect(recorded.map((r) => [r.action, r.details?.rowCount])).toEqual([
      ['audit_query', 1],
      ['audit_query', 0],
    ]);
  });

  it('records each look at the chain status and at the reconciliation as an audit_query naming the report', async () => {
    expect((await get('/api/v1/audit/verification')).statusCode).toBe(200);
    expect((await get('/api/v1/audit/reconciliation?from=2026-11-01T00:00:00Z')).statusCode).toBe(200);
    const recorded = (await trailRecords()).slice(-2);
    expect(recorded.map((r) => [r.action, r.details?.via, r.details?.report, r.details?.rowCount])).toEqual([
      ['audit_query', 'api', 'verification', 0],
      ['audit_query', 'api', 'reconciliation', 0],
    ]);
    expect(recorded[1]!.details?.filters).toEqual({ from: '2026-11-01T00:00:00Z' });
    // A date alone is midnight UTC, as for the records; a time without its zone is refused.
    expect((await get('/api/v1/audit/reconciliation?from=2026-11-01&to=2026-12-01')).statusCode).toBe(200);
    const zoneless = await get('/api/v1/audit/reconciliation?from=2026-11-01T09:00');
    expect(zoneless.statusCode).toBe(400);
    expect(zoneless.json().code).toBe('invalid_request');
  });

  it('refuses a recovery password pasted into a filter, a path or an export, before recording, echoing or logging it', async () => {
    const pasted = '236819-574453-160424-050402-683859-302225-457171-125103';
    const before = (await trailRecords()).length;
    for (const url of [
      `/api/v1/audit/records?deviceName=${pasted}`,
      `/api/v1/audit/records?ticket=${pasted.replaceAll('-', '%20')}&format=csv`,
      `/api/v1/audit/records/${pasted}`,
      `/api/v1/audit/records?requesterUpn=${pasted.replaceAll('-', '')}`,
    ]) {
      const answer = await get(url);
      expect(answer.statusCode, url).toBe(400);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.json()).toMatchObject({ code: 'invalid_request', errors: [{ location: 'url' }] });
      expect(answer.body.replace(/\D/g, '')).not.toContain(pasted.replaceAll('-', ''));
    }
    expect((await trailRecords()).length).toBe(before);
    const log = await readFile(harness.logFile, 'utf8');
    expect(log.replace(/[^0-9\n]/g, '')).not.toContain(pasted.replaceAll('-', ''));
    expect(log).toContain('[removed: shaped like a recovery password]');
  });

  it('refuses a caller without a token, without BitLocker.Audit, or with a delegated token, as problem+json, serving no record', async () => {
    const anonymous = await harness.inject({ method: 'GET', url: '/api/v1/audit/records' });
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'unauthorized']);
    const discloser = await harness.inject({ method: 'GET', url: '/api/v1/audit/records?format=csv', headers: { authorization: `Bearer ${await token(['BitLocker.Disclose', 'BitLocker.Lookup'])}` } });
    expect([discloser.statusCode, discloser.json().code]).toEqual([403, 'forbidden']);
    const person = await harness.inject({ method: 'GET', url: `/api/v1/audit/records/${idAt(1)}`, headers: { authorization: `Bearer ${await issueUserToken(entraKey, { roles: ['BitLocker.Audit'] })}` } });
    expect([person.statusCode, person.json().code]).toEqual([403, 'app_token_required']);
    for (const response of [anonymous, discloser, person]) expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await trailRecords()).length).toBe(RECORDS);
  });

  it('exports the whole trail as JSON Lines byte for byte, as an attachment, and records the export before and after', async () => {
    const original = await readFile(file, 'utf8');
    const response = await get('/api/v1/audit/records?format=jsonl&limit=1');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="keydesk-audit-[0-9TZ-]+\.jsonl"$/);
    const after = await readFile(file, 'utf8');
    const lines = after.split('\n').filter(Boolean);
    // The export holds the trail as it began: the original records and the export's own "started" record.
    expect(response.body).toBe(lines.slice(0, -1).map((line) => `${line}\n`).join(''));
    expect(response.body.startsWith(original)).toBe(true);
    const [started, completed] = lines.slice(-2).map((line) => JSON.parse(line) as AuditRecord);
    expect(started).toMatchObject({ action: 'audit_export', details: { stage: 'started', format: 'jsonl', rowCount: null, filters: {} } });
    expect(completed).toMatchObject({ action: 'audit_export', details: { stage: 'completed', format: 'jsonl', rowCount: RECORDS + 1, startedRecordId: started!.id } });
  });

  it.each([
    ['text/csv;q=0.1, application/json', 'json'],
    ['application/x-ndjson;q=0.9, text/csv', 'csv'],
    ['application/json;q=0, application/x-ndjson', 'jsonl'],
    ['*/*', 'json'],
    ['text/html', 'json'],
  ])('honours the q-values of Accept: %s → %s', async (accept, expected) => {
    const response = await get('/api/v1/audit/records?limit=500', { accept });
    expect(response.statusCode).toBe(200);
    const types = { json: 'application/json', csv: 'text/csv', jsonl: 'application/x-ndjson' } as const;
    expect(response.headers['content-type']).toMatch(new RegExp(`^${types[expected as keyof typeof types]}`));
  });

  it('exports CSV for Accept: text/csv with dotted columns, RFC 4180 quoting and formula cells defused', async () => {
    const response = await get('/api/v1/audit/records?deviceName=LAPTOP-X', { accept: 'text/csv' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename=".+\.csv"$/);
    const rows = response.body.split('\r\n');
    expect(rows[0]).toBe(CSV_COLUMNS.join(','));
    expect(rows[0]).toContain('caller.upn,caller.name');
    expect(rows[0]).toContain('device.id,device.deviceId,device.displayName');
    expect(rows[0]).toContain('checks.ticket');
    // Ascending seq: 4, 7, 8, … (the LAPTOP-X records).
    expect(rows.slice(1, -1).map((row) => Number(row.split(',')[0]))).toEqual([4, 7, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    const refused = rows.find((row) => row.startsWith('7,'))!;
    expect(refused).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(refused).toContain(`"'+1 call me, ""urgent"""`);
    expect(rows.at(-1)).toBe('');
  });

  it('serves nothing and answers 503 audit_unavailable when the query cannot be recorded', async () => {
    const failing: AuditTrail = {
      ...trail,
      query: (filter, page) => trail.query(filter, page),
      findRecord: (id) => trail.findRecord(id),
      exportRecords: (filter) => trail.exportRecords(filter),
      isWritable: () => trail.isWritable(),
      close: () => trail.close(),
      append: async () => {
        throw new KeyDeskProblem('audit_unavailable', 'disk full');
      },
    };
    await harness.app.close();
    harness = await buildHarness('audit-records-failing', { audit: failing });
    for (const url of ['/api/v1/audit/records?deviceName=LAPTOP-X', `/api/v1/audit/records/${idAt(4)}`, '/api/v1/audit/records?format=jsonl', '/api/v1/audit/verification', '/api/v1/audit/reconciliation']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(503);
      expect(response.json().code).toBe('audit_unavailable');
      expect(response.body).not.toContain('LAPTOP-X');
    }
  });
});
