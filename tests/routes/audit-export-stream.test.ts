import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { readFile } from 'node:fs/promises';
import type { AuditRecord, AuditTrail, ExportedRecord } from '../../src/audit/types.js';
import { disclosureEntry, memoryLogger, sealedLines, tempAuditFile, writeLines } from '../audit/audit-kit.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery } from '../helpers/entra.js';

/**
 * A 10,000-record export (about 30 MB of JSON Lines) is streamed: the auditor's download begins
 * while KeyDesk has read only part of the trail, and KeyDesk never runs far ahead of what the
 * client has taken, so its memory holds a window of the trail, not the trail.
 */

const RECORDS = 10_000;

describe('a 10,000-record export', () => {
  const progress = { pulled: 0 };
  let harness: Harness | null = null;

  afterEach(async () => {
    await harness?.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  /** The file trail, counting the records its export has read. */
  async function countedTrail(file: string): Promise<AuditTrail> {
    await writeLines(file, sealedLines(RECORDS, (seq) => disclosureEntry({ ticket: `INC${seq}`, comment: `call back ${seq} `.padEnd(3_000, '.') })).lines);
    const trail = await openFileAuditTrail({ file, hmacKey: null, logger: memoryLogger().logger });
    return {
      append: (entry) => trail.append(entry),
      query: (filter, page) => trail.query(filter, page),
      findRecord: (id) => trail.findRecord(id),
      isWritable: () => trail.isWritable(),
      close: () => trail.close(),
      async *exportRecords(filter): AsyncGenerator<ExportedRecord> {
        for await (const exported of trail.exportRecords(filter)) {
          progress.pulled += 1;
          yield exported;
        }
      },
    };
  }

  it('begins the download before the end is read, and stays within a bounded distance of the client', async () => {
    const entraKey = await makeSigningKey();
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    mockEntraDiscovery([entraKey]);
    const file = await tempAuditFile();
    const keydesk = await buildHarness('audit-export-stream', { audit: await countedTrail(file) });
    const trailRecords = async () => (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord);
    harness = keydesk;
    await keydesk.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(keydesk.app.server.address() as AddressInfo).port}/api/v1/audit/records?format=jsonl`;
    const token = await issueAppToken(entraKey, { roles: ['BitLocker.Audit'] });
    const exportsRecorded: string[] = [];
    const seen = await new Promise<{ chunks: number; lines: number; pulledAtFirstChunk: number; mostAhead: number }>((resolve, reject) => {
      httpGet(url, { headers: { authorization: `Bearer ${token}` } }, (response) => {
        let chunks = 0;
        let lines = 0;
        let pulledAtFirstChunk = -1;
        let mostAhead = 0;
        response.on('data', (chunk: Buffer) => {
          chunks += 1;
          if (chunks === 1) {
            pulledAtFirstChunk = progress.pulled;
            // The trail as it stands when the first piece arrives: has the export been recorded complete?
            void trailRecords().then((records) => exportsRecorded.push(...records.filter((r) => r.action === 'audit_export').map((r) => String(r.details?.stage))));
          }
          for (const byte of chunk) if (byte === 0x0a) lines += 1;
          mostAhead = Math.max(mostAhead, progress.pulled - lines);
        });
        response.on('end', () => resolve({ chunks, lines, pulledAtFirstChunk, mostAhead }));
        response.on('error', reject);
      }).on('error', reject);
    });
    // The whole trail arrived (its 10,000 records and the export's own "started" record), in many pieces.
    expect(seen.lines).toBe(RECORDS + 1);
    expect(seen.chunks).toBeGreaterThan(100);
    // The first piece arrived while most of the trail was still unread, and before the export was recorded complete.
    expect(seen.pulledAtFirstChunk).toBeLessThan(RECORDS / 2);
    expect(exportsRecorded).toEqual(['started']);
    // KeyDesk never read more than half the trail ahead of what the client had received.
    expect(seen.mostAhead).toBeLessThan(RECORDS / 2);
    expect((await trailRecords()).at(-1)).toMatchObject({ action: 'audit_export', details: { stage: 'completed', rowCount: RECORDS + 1 } });
  }, 120_000);
});
