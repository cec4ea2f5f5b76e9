import type { Logger } from 'pino';
import type { AuditRecord, AuditTrail } from '../audit/types.js';
import type { EntraAuditLog, EntraKeyRead, GraphGateway } from '../graph/types.js';
import { isProblem } from '../problem/problem.js';
import { CLOCK_SKEW_MS, intentWindow, matchKeyRead, type KeyReadMatch } from './matching.js';
import { outOfBandAlert, outOfBandEntry } from './out-of-band.js';
import { allRecords, missingInEntra, type MissingInEntra } from './missing.js';
import { isOutOfBand, toStoredKeyRead, type CoveredSpan, type ReconcileRun, type ReconcileState, type ReconciliationStore, type StoredKeyRead } from './types.js';

/**
 * One reconciliation run: read Entra's "Read BitLocker key" events since the last run (the window
 * overlapping it by an hour: Entra delivers events minutes late), store each new one with the
 * KeyDesk intent it is — or none: out of band —, then report every out-of-band read not reported
 * yet, once, with an `out_of_band_read` record and an alert. One run at a time across instances
 * (the store's lease).
 */

export const WINDOW_OVERLAP_MS = 60 * 60_000;
/** The first run reads this far back: Entra keeps at least 7 days (Free), 30 with P1/P2. */
export const FIRST_WINDOW_MS = 7 * 24 * 60 * 60_000;
/** Never further back than Entra keeps anything. */
const LONGEST_WINDOW_MS = 30 * 24 * 60 * 60_000;
/** A lease older than this belongs to a run whose process died. */
const STALE_RUN_MS = 30 * 60_000;

export interface ReconcilerDeps {
  auditLog: EntraAuditLog;
  graph: GraphGateway;
  audit: AuditTrail;
  store: ReconciliationStore;
  /** AZURE_CLIENT_ID: the app Entra names for KeyDesk's own reads. */
  clientId: string;
  graceMinutes: number;
  now: () => number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export type RunResult = { status: 'done'; run: ReconcileRun } | { status: 'already_running' };

export interface ReconciliationReport {
  lastRun: ReconcileRun | null;
  running: boolean;
  coveredFrom: string | null;
  coveredTo: string | null;
  coveredSpans: CoveredSpan[];
  outOfBand: { entraEventId: string; activityDateTime: string; keyId: string | null; deviceId: string | null; deviceName: string | null; initiatedBy: StoredKeyRead['initiatedBy']; reportedRecordId: string | null }[];
  missingInEntra: MissingInEntra[];
}

export interface Reconciler {
  /** One run now, awaited; `already_running` when a run holds the lease (here or elsewhere). */
  run(): Promise<RunResult>;
  /** A run started in the background (POST …/run): `started`, or `already_running`. */
  start(): Promise<'started' | 'already_running'>;
  report(window: { from?: string; to?: string }): Promise<ReconciliationReport>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function nextWindow(state: ReconcileState, now: number): { from: string; to: string } {
  const from = state.coveredTo === null ? now - FIRST_WINDOW_MS : Date.parse(state.coveredTo) - WINDOW_OVERLAP_MS;
  return { from: iso(Math.max(from, now - LONGEST_WINDOW_MS)), to: iso(now) };
}

function errorText(error: unknown): string {
  return isProblem(error) ? `${error.code}: ${error.detail}` : 'internal_error: the run failed unexpectedly';
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const steps = reconcileSteps(deps);
  let local: Promise<RunResult> | null = null;

  const runOnce = async (): Promise<RunResult> => {
    const startedAt = deps.now();
    if (!(await deps.store.beginRun(iso(startedAt), iso(startedAt - STALE_RUN_MS)))) return { status: 'already_running' };
    // Whatever fails after the lease is taken, the lease is given back with the run's record.
    let window = { from: iso(startedAt), to: iso(startedAt) };
    const counts = { events: 0, newEvents: 0, outOfBand: 0 };
    let error: string | null = null;
    try {
      window = nextWindow(await deps.store.state(), startedAt);
      Object.assign(counts, await steps.readWindow(window));
      await steps.reportOutOfBand();
    } catch (caught) {
      error = errorText(caught);
      deps.logger.error({ err: caught, reconcile: window }, "the reconciliation with Entra's audit log failed");
    }
    const run: ReconcileRun = { startedAt: iso(startedAt), finishedAt: iso(deps.now()), windowFrom: window.from, windowTo: window.to, ...counts, error };
    await deps.store.endRun(run);
    deps.logger.info({ reconcile: run }, "reconciliation with Entra's audit log finished");
    return { status: 'done', run };
  };

  const run = (): Promise<RunResult> => {
    if (local) return Promise.resolve({ status: 'already_running' });
    local = runOnce().finally(() => {
      local = null;
    });
    return local;
  };

  return {
    run,
    async start() {
      if (local || (await deps.store.state()).running) return 'already_running';
      run().catch((error: unknown) => deps.logger.error({ err: error }, 'a reconciliation run could not be recorded'));
      return 'started';
    },
    report: (window) => reportOf(deps, window),
  };
}

function reconcileSteps(deps: ReconcilerDeps) {
  /** The intents of each key these reads name, around their times: one trail query per key, not per event. */
  const intentsByKey = async (reads: readonly EntraKeyRead[]): Promise<Map<string, AuditRecord[]>> => {
    const byKey = new Map<string, AuditRecord[]>();
    const keys = [...new Set(reads.map((read) => read.keyId?.toLowerCase()).filter((key): key is string => key !== undefined))];
    for (const key of keys) {
      const times = reads.filter((read) => read.keyId?.toLowerCase() === key).map((read) => read.activityDateTime);
      const span = { from: intentWindow(times[0]!).from, to: intentWindow(times.at(-1)!).to };
      byKey.set(key, await allRecords(deps.audit, { action: 'disclosure_intent', recoveryKeyId: key, ...span }));
    }
    return byKey;
  };

  const deviceOf = async (read: EntraKeyRead, match: KeyReadMatch | null): Promise<{ deviceId: string | null; deviceName: string | null }> => {
    if (match) return { deviceId: match.intent.device?.deviceId ?? null, deviceName: match.intent.device?.displayName ?? null };
    if (read.keyId === null) return { deviceId: null, deviceName: null };
    try {
      const deviceId = await deps.auditLog.deviceIdOfKey(read.keyId);
      const device = deviceId === null ? null : await deps.graph.getDevice(deviceId);
      return { deviceId, deviceName: device?.displayName ?? null };
    } catch (error) {
      deps.logger.warn({ err: error, reconcile: { entraEventId: read.entraEventId } }, 'the device of an out-of-band key read could not be found');
      return { deviceId: null, deviceName: null };
    }
  };

  /** True when the read is new and out of band. */
  const storeRead = async (read: EntraKeyRead, intents: AuditRecord[], taken: Set<string>): Promise<boolean> => {
    const match = matchKeyRead(read, intents, deps.clientId, taken);
    if (match) taken.add(match.disclosureId);
    const stored = toStoredKeyRead(read, match, await deviceOf(read, match));
    return (await deps.store.addKeyRead(stored)) && isOutOfBand(stored);
  };

  return {
    async readWindow(window: { from: string; to: string }) {
      const reads = (await deps.auditLog.listKeyReads(window)).sort((a, b) => Date.parse(a.activityDateTime) - Date.parse(b.activityDateTime));
      const known = await deps.store.knownEventIds(reads.map((read) => read.entraEventId));
      const fresh = reads.filter((read) => !known.has(read.entraEventId));
      const taken = new Set<string>();
      const intentsOf = await intentsByKey(fresh);
      let outOfBand = 0;
      for (const read of fresh) {
        const intents = intentsOf.get(read.keyId?.toLowerCase() ?? '') ?? [];
        const candidates = intents.map((intent) => intent.disclosureId).filter((id): id is string => id !== null);
        for (const id of await deps.store.matchedDisclosures(candidates)) taken.add(id);
        if (await storeRead(read, intents, taken)) outOfBand += 1;
      }
      return { events: reads.length, newEvents: fresh.length, outOfBand };
    },
    async reportOutOfBand() {
      for (const read of await deps.store.unreported()) {
        if (!(await deps.store.claimReport(read.entraEventId))) continue;
        try {
          // A run that died between writing a record and marking the report left it in the trail:
          // look before writing, so each out-of-band read has one observation and one alert.
          const observed = (await recordOfEvent(deps.audit, 'out_of_band_read', read)) ?? (await deps.audit.append(outOfBandEntry(read)));
          if (!(await recordOfEvent(deps.audit, 'alert', read))) await deps.audit.append(outOfBandAlert(read, observed.id));
          await deps.store.completeReport(read.entraEventId, observed.id);
        } catch (error) {
          await deps.store.releaseReport(read.entraEventId);
          throw error;
        }
      }
    },
  };
}

/** The record of `action` KeyDesk wrote for this Entra event, if any (written after the event, about its key). */
async function recordOfEvent(audit: AuditTrail, action: 'out_of_band_read' | 'alert', read: StoredKeyRead): Promise<AuditRecord | null> {
  const from = new Date(Date.parse(read.activityDateTime) - CLOCK_SKEW_MS).toISOString();
  const records = await allRecords(audit, { action, from, ...(read.keyId === null ? {} : { recoveryKeyId: read.keyId }) });
  return records.find((record) => record.details?.entraEventId === read.entraEventId) ?? null;
}

async function reportOf(deps: ReconcilerDeps, window: { from?: string; to?: string }): Promise<ReconciliationReport> {
  const state = await deps.store.state();
  const reads = await deps.store.keyReads(window);
  const outOfBand = reads
    .filter(isOutOfBand)
    .map((read) => ({
      entraEventId: read.entraEventId,
      activityDateTime: read.activityDateTime,
      keyId: read.keyId,
      deviceId: read.deviceId,
      deviceName: read.deviceName,
      initiatedBy: read.initiatedBy,
      reportedRecordId: read.reportedRecordId,
    }));
  const missing = await missingInEntra(deps, state, window);
  return { lastRun: state.lastRun, running: state.running, coveredFrom: state.coveredFrom, coveredTo: state.coveredTo, coveredSpans: state.coveredSpans, outOfBand, missingInEntra: missing };
}
