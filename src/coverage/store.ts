import { dirname, join } from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import { appendPrivateText, openIfExists } from '../audit/file/file-system.js';
import { createAuditPool } from '../audit/postgres/connection.js';
import { replaceFile } from '../key-index/file-store.js';
import type { EscrowCoverageCounts, EscrowCoverageReport } from './escrow-coverage.js';

/**
 * Where the escrow coverage report is kept: the latest whole, and each day's counts (the last
 * report of a UTC day stands for it). PostgreSQL: `keydesk.escrow_coverage`, one row per day
 * (migration 8). File store: `escrow-coverage.json` (the latest, replaced atomically) and
 * `escrow-coverage-history.jsonl` (one line of counts per report), beside the audit file.
 */

export interface CoverageDay {
  day: string;
  generatedAt: string;
  counts: EscrowCoverageCounts;
}

export interface CoverageStore {
  save(report: EscrowCoverageReport): Promise<void>;
  latest(): Promise<EscrowCoverageReport | null>;
  /** Oldest first. */
  history(): Promise<CoverageDay[]>;
  close(): Promise<void>;
}

const dayOf = (iso: string) => iso.slice(0, 10);

async function readText(path: string): Promise<string | null> {
  const handle = await openIfExists(path);
  if (!handle) return null;
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

export function memoryCoverageStore(): CoverageStore {
  let latest: EscrowCoverageReport | null = null;
  const days = new Map<string, CoverageDay>();
  return {
    async save(report) {
      latest = report;
      days.set(dayOf(report.generatedAt), { day: dayOf(report.generatedAt), generatedAt: report.generatedAt, counts: report.counts });
    },
    latest: async () => latest,
    history: async () => [...days.values()].sort((a, b) => a.day.localeCompare(b.day)),
    close: async () => undefined,
  };
}

export function openFileCoverageStore(auditFile: string): CoverageStore {
  const latestPath = join(dirname(auditFile), 'escrow-coverage.json');
  const historyPath = join(dirname(auditFile), 'escrow-coverage-history.jsonl');
  return {
    async save(report) {
      await replaceFile(latestPath, [`${JSON.stringify(report)}\n`]);
      await appendPrivateText(historyPath, `${JSON.stringify({ day: dayOf(report.generatedAt), generatedAt: report.generatedAt, counts: report.counts } satisfies CoverageDay)}\n`);
    },
    async latest() {
      const text = await readText(latestPath);
      return text === null ? null : (JSON.parse(text) as EscrowCoverageReport);
    },
    async history() {
      const text = (await readText(historyPath)) ?? '';
      const days = new Map<string, CoverageDay>();
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          const day = JSON.parse(line) as CoverageDay;
          days.set(day.day, day);
        } catch {
          // A torn last line (a crash mid-append) is a report whose counts were not kept.
        }
      }
      return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
    },
    close: async () => undefined,
  };
}

export function createPostgresCoverageStore(pool: pg.Pool, ownsPool: boolean): CoverageStore {
  return {
    async save(report) {
      await pool.query(
        `INSERT INTO keydesk.escrow_coverage (day, generated_at, counts, report) VALUES ($1, $2, $3, $4)
         ON CONFLICT (day) DO UPDATE SET generated_at = EXCLUDED.generated_at, counts = EXCLUDED.counts, report = EXCLUDED.report
         WHERE keydesk.escrow_coverage.generated_at <= EXCLUDED.generated_at`,
        [dayOf(report.generatedAt), report.generatedAt, JSON.stringify(report.counts), JSON.stringify(report)],
      );
    },
    async latest() {
      const { rows } = await pool.query<{ report: EscrowCoverageReport }>('SELECT report FROM keydesk.escrow_coverage ORDER BY generated_at DESC LIMIT 1');
      return rows[0]?.report ?? null;
    },
    async history() {
      const { rows } = await pool.query<{ day: string; generated_at: Date; counts: EscrowCoverageCounts }>("SELECT to_char(day, 'YYYY-MM-DD') AS day, generated_at, counts FROM keydesk.escrow_coverage ORDER BY day");
      return rows.map((row) => ({ day: row.day, generatedAt: row.generated_at.toISOString(), counts: row.counts }));
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

/** The coverage store beside the audit store AUDIT_STORE names. */
export function openCoverageStore(config: KeyDeskConfig, logger: Pick<Logger, 'warn'>): CoverageStore {
  if (config.audit.store === 'postgres') return createPostgresCoverageStore(createAuditPool({ url: config.database!.url, poolMax: 2 }, logger), true);
  return openFileCoverageStore(config.audit.file);
}
