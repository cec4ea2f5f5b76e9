import type { AuditFilter, AuditRecord, AuditTrail } from '../audit/types.js';
import { MATCH_WINDOW_MS } from './matching.js';
import type { ReconcileState, ReconciliationStore } from './types.js';

/**
 * Granted disclosures Entra's log does not show: KeyDesk says it read the key, Entra has no
 * matching event RECONCILE_GRACE_MINUTES later. Only disclosures inside a stretch runs have read
 * (and at least MATCH_WINDOW_MS before its end) are judged: outside them, nobody has looked.
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

/** The parts of each covered stretch that can be judged now, within the asked window. */
function judgedSpans(deps: MissingDeps, state: ReconcileState, window: { from?: string; to?: string }): { from: string; to: string }[] {
  const judged: { from: string; to: string }[] = [];
  for (const span of state.coveredSpans) {
    const from = Math.max(Date.parse(span.from), window.from === undefined ? -Infinity : Date.parse(window.from));
    const to = Math.min(deps.now() - deps.graceMinutes * 60_000, Date.parse(span.to) - MATCH_WINDOW_MS, window.to === undefined ? Infinity : Date.parse(window.to));
    if (from < to) judged.push({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  }
  return judged;
}

/** Every record the filter matches, newest first, page by page. */
export async function allRecords(audit: AuditTrail, filter: AuditFilter): Promise<AuditRecord[]> {
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
  const granted: AuditRecord[] = [];
  // Each stretch's records come newest first: taken newest stretch first, then turned oldest first.
  for (const span of judgedSpans(deps, state, window).reverse()) granted.push(...(await allRecords(deps.audit, { action: 'disclosure', outcome: 'granted', ...span })));
  const disclosed = granted.filter((record) => record.disclosureId !== null);
  const matched = await deps.store.matchedDisclosures(disclosed.map((record) => record.disclosureId!));
  return disclosed
    .filter((record) => !matched.has(record.disclosureId!))
    .reverse()
    .map((record) => ({ disclosureId: record.disclosureId!, auditRecordId: record.id, time: record.time, recoveryKeyId: record.recoveryKeyId }));
}
