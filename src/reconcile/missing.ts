import type { AuditFilter, AuditRecord, AuditTrail } from '../audit/types.js';
import { MATCH_WINDOW_MS } from './matching.js';
import type { ReconcileState, ReconciliationStore } from './types.js';

/**
 * Granted disclosures Entra's log does not show: KeyDesk says it read the key, Entra has no
 * matching event RECONCILE_GRACE_MINUTES later. Only disclosures inside the span runs have read
 * (and at least MATCH_WINDOW_MS before its end) are judged: outside it, nobody has looked.
 */

export interface MissingInEntra {
  disclosureId: string;
  auditRecordId: string;
  time: string;
  recoveryKeyId: string | null;
}

interface MissingDeps {
  audit: AuditTrail;
  store: ReconciliationStore;
  graceMinutes: number;
  now: () => number;
}

function judgedSpan(deps: MissingDeps, state: ReconcileState, window: { from?: string; to?: string }): { from: string; to: string } | null {
  if (state.coveredFrom === null || state.coveredTo === null) return null;
  const from = Math.max(Date.parse(state.coveredFrom), window.from === undefined ? -Infinity : Date.parse(window.from));
  const to = Math.min(
    deps.now() - deps.graceMinutes * 60_000,
    Date.parse(state.coveredTo) - MATCH_WINDOW_MS,
    window.to === undefined ? Infinity : Date.parse(window.to),
  );
  return from < to ? { from: new Date(from).toISOString(), to: new Date(to).toISOString() } : null;
}

async function allRecords(audit: AuditTrail, filter: AuditFilter): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await audit.query(filter, { limit: 500, cursor });
    records.push(...page.records);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return records;
}

export async function missingInEntra(deps: MissingDeps, state: ReconcileState, window: { from?: string; to?: string }): Promise<MissingInEntra[]> {
  const span = judgedSpan(deps, state, window);
  if (span === null) return [];
  const granted = (await allRecords(deps.audit, { action: 'disclosure', outcome: 'granted', ...span })).filter((record) => record.disclosureId !== null);
  const matched = await deps.store.matchedDisclosures(granted.map((record) => record.disclosureId!));
  return granted
    .filter((record) => !matched.has(record.disclosureId!))
    .reverse()
    .map((record) => ({ disclosureId: record.disclosureId!, auditRecordId: record.id, time: record.time, recoveryKeyId: record.recoveryKeyId }));
}
