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

export interface ReconcileState {
  lastRun: ReconcileRun | null;
  /** The earliest and latest instants of Entra's log read by successful runs; null before the first. */
  coveredFrom: string | null;
  coveredTo: string | null;
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
  /** Out-of-band reads whose report is neither claimed nor written. */
  unreported(): Promise<StoredKeyRead[]>;
  /** Claims the report of one out-of-band read: true for exactly one caller, across instances. */
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

export function toStoredKeyRead(read: EntraKeyRead, match: { disclosureId: string; by: MatchedBy } | null, device: { deviceId: string | null; deviceName: string | null }): StoredKeyRead {
  return {
    entraEventId: read.entraEventId,
    activityDateTime: read.activityDateTime,
    keyId: read.keyId,
    deviceId: device.deviceId,
    deviceName: device.deviceName,
    initiatedBy: read.initiatedBy,
    correlationId: read.correlationId,
    matchedDisclosureId: match?.disclosureId ?? null,
    matchedBy: match?.by ?? null,
    reportedRecordId: null,
  };
}

/** The covered span after a run: a failed run leaves it as it was. */
export function coveredAfter(state: Pick<ReconcileState, 'coveredFrom' | 'coveredTo'>, run: ReconcileRun): Pick<ReconcileState, 'coveredFrom' | 'coveredTo'> {
  if (run.error !== null) return { coveredFrom: state.coveredFrom, coveredTo: state.coveredTo };
  const earlier = (a: string | null, b: string) => (a === null || Date.parse(b) < Date.parse(a) ? b : a);
  const later = (a: string | null, b: string) => (a === null || Date.parse(b) > Date.parse(a) ? b : a);
  return { coveredFrom: earlier(state.coveredFrom, run.windowFrom), coveredTo: later(state.coveredTo, run.windowTo) };
}
