import type { EntraKeyRead, KeyReadInitiator } from '../graph/types.js';

/**
 * What the reconciliation keeps of each Entra "Read BitLocker key" event it has read (Entra
 * itself keeps them 7 days on Free, 30 with P1/P2, so "last month" is answered from here), and
 * of its runs. Stored by the audit store's kind: a JSON Lines file beside AUDIT_FILE, or tables
 * in PostgreSQL; the report of an out-of-band read is claimed there, so it happens once.
 */

export type { KeyReadInitiator } from '../graph/types.js';

/** How an event was tied to a KeyDesk intent record. */
export type MatchedBy = 'client_request_id' | 'key_and_time';

export interface StoredKeyRead {
  entraEventId: string;
  activityDateTime: string;
  keyId: string | null;
  deviceId: string | null;
  deviceName: string | null;
  initiatedBy: KeyReadInitiator;
  correlationId: string | null;
  /** The disclosureId of the KeyDesk intent this read is, or null: out of band. */
  matchedDisclosureId: string | null;
  matchedBy: MatchedBy | null;
  /**
   * A second read for a disclosure already accounted for: KeyDesk retried the key read (a timeout,
   * a 5xx) with the same `client-request-id`, which Entra carries. Not out of band; the disclosure
   * is `matchedDisclosureId` of the first read. Absent in lines written before it existed.
   */
  retryOfDisclosureId?: string | null;
  /** The `out_of_band_read` record written for it (out-of-band reads only, once reported). */
  reportedRecordId: string | null;
}

export interface ReconcileRun {
  startedAt: string;
  finishedAt: string;
  /** The window of Entra's log read: `activityDateTime` from/to, inclusive. */
  windowFrom: string;
  windowTo: string;
  /** Events Entra returned for the window, and those not seen before. */
  events: number;
  newEvents: number;
  /** New out-of-band reads found by this run. */
  outOfBand: number;
  /** Why the run failed (a problem code and its detail); null when it succeeded. */
  error: string | null;
}

/** A stretch of Entra's log that successful runs have read without a break: `from`/`to` inclusive. */
export interface CoveredSpan {
  from: string;
  to: string;
}

export interface ReconcileState {
  lastRun: ReconcileRun | null;
  /** The earliest and latest instants of Entra's log read by successful runs; null before the first. */
  coveredFrom: string | null;
  coveredTo: string | null;
  /**
   * The stretches read, oldest first, apart where reconciliation stopped for longer than Entra
   * keeps events (what happened in a gap cannot be read any more, so nothing in it is judged).
   */
  coveredSpans: CoveredSpan[];
  /** True while a run holds the lease (any instance). */
  running: boolean;
}

export interface ReconciliationStore {
  /** Adds a read unless one with its Entra event id is stored; true when added. */
  addKeyRead(read: StoredKeyRead): Promise<boolean>;
  /** The stored reads with this Entra event id among `ids`. */
  knownEventIds(ids: readonly string[]): Promise<Set<string>>;
  /** Of these disclosure ids, those an Entra event is matched to already. */
  matchedDisclosures(disclosureIds: readonly string[]): Promise<Set<string>>;
  /** Reads with `from <= activityDateTime < to` (either bound optional), oldest first. */
  keyReads(window: { from?: string; to?: string }): Promise<StoredKeyRead[]>;
  /** Out-of-band reads whose report is not written (a claim whose run died counts as not written). */
  unreported(): Promise<StoredKeyRead[]>;
  /**
   * Claims the report of one out-of-band read not reported yet: true for one caller at a time; a
   * claim left by a run that died (PostgreSQL keeps it) is taken again by the next run, which
   * holds the run lease.
   */
  claimReport(entraEventId: string): Promise<boolean>;
  /** The report is written: `recordId` is its `out_of_band_read` record. */
  completeReport(entraEventId: string, recordId: string): Promise<void>;
  /** The report could not be written: the next run tries again. */
  releaseReport(entraEventId: string): Promise<void>;
  /** Takes the run lease unless another run holds one that started after `staleBefore`. */
  beginRun(startedAt: string, staleBefore: string): Promise<boolean>;
  /** Releases the lease; a successful run's window widens the covered span. */
  endRun(run: ReconcileRun): Promise<void>;
  state(): Promise<ReconcileState>;
  close(): Promise<void>;
}

export function toStoredKeyRead(read: EntraKeyRead, match: { disclosureId: string; by: MatchedBy; retry: boolean } | null, device: { deviceId: string | null; deviceName: string | null }): StoredKeyRead {
  return {
    entraEventId: read.entraEventId,
    activityDateTime: read.activityDateTime,
    keyId: read.keyId,
    deviceId: device.deviceId,
    deviceName: device.deviceName,
    initiatedBy: read.initiatedBy,
    correlationId: read.correlationId,
    matchedDisclosureId: match && !match.retry ? match.disclosureId : null,
    matchedBy: match?.by ?? null,
    retryOfDisclosureId: match?.retry ? match.disclosureId : null,
    reportedRecordId: null,
  };
}

/** The covered stretches after a run: a failed run leaves them as they were; overlapping ones merge. */
export function coveredAfter(spans: readonly CoveredSpan[], run: ReconcileRun): CoveredSpan[] {
  if (run.error !== null) return [...spans];
  const all = [...spans, { from: run.windowFrom, to: run.windowTo }].sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
  const merged: CoveredSpan[] = [];
  for (const span of all) {
    const last = merged.at(-1);
    if (last && Date.parse(span.from) <= Date.parse(last.to)) {
      if (Date.parse(span.to) > Date.parse(last.to)) last.to = span.to;
    } else merged.push({ ...span });
  }
  return merged;
}

/** The state's span members from its stretches. */
export function coverageOf(spans: readonly CoveredSpan[]): Pick<ReconcileState, 'coveredFrom' | 'coveredTo' | 'coveredSpans'> {
  return { coveredFrom: spans[0]?.from ?? null, coveredTo: spans.at(-1)?.to ?? null, coveredSpans: [...spans] };
}

/** True when the read is out of band: neither a KeyDesk intent's read nor KeyDesk's retry of one. */
export function isOutOfBand(read: StoredKeyRead): boolean {
  return read.matchedDisclosureId === null && (read.retryOfDisclosureId ?? null) === null;
}
