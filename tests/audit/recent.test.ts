import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecentAuditRecords } from '../../src/audit/recent.js';

describe('readRecentAuditRecords', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'keydesk-recent-')), 'audit.jsonl');
  // Lines of ~1 KiB: 500 of them span several 64 KiB windows, so lines straddle window edges.
  const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ seq: i + 1, id: `r${i + 1}`, caller: { oid: i % 3 === 0 ? 'me' : 'other' }, padding: 'x'.repeat(1000 + (i % 7)) }));

  it('returns the newest matching records first, across window boundaries, skipping a torn last line', async () => {
    writeFileSync(file, lines.join('\n') + '\n{"seq": 501, "torn');
    const records = await readRecentAuditRecords(file, { limit: 100, filter: (r) => r.caller?.oid === 'me' });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 499 - 3 * i));
  });

  it('reads the whole file when fewer records match than asked for, and an absent file as empty', async () => {
    writeFileSync(file, lines.join('\n') + '\n');
    const records = await readRecentAuditRecords(file, { limit: 1000, filter: (r) => r.caller?.oid === 'me' });
    expect(records).toHaveLength(167);
    expect(records.at(-1)!.seq).toBe(1);
    expect(await readRecentAuditRecords(`${file}.absent`, { limit: 10, filter: () => true })).toEqual([]);
  });
});
