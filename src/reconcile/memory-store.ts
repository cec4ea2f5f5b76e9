import { coverageOf, coveredAfter, isOutOfBand, type ReconcileRun, type ReconcileState, type ReconciliationStore, type StoredKeyRead } from './types.js';

/**
 * The reconciliation's store in memory: the file store keeps one of these and writes each change
 * to its file; `buildApp` uses one alone when it is given no store (tests, a demo without files).
 */
export class MemoryReconciliationStore implements ReconciliationStore {
  readonly reads = new Map<string, StoredKeyRead>();
  readonly #claimed = new Set<string>();
  #state: Omit<ReconcileState, 'running'> = { lastRun: null, ...coverageOf([]) };
  #runningSince: string | null = null;

  addKeyRead(read: StoredKeyRead): Promise<boolean> {
    return Promise.resolve(this.remember(read));
  }

  /** Adds without persisting (the file store's replay); false when already there. */
  remember(read: StoredKeyRead): boolean {
    if (this.reads.has(read.entraEventId)) return false;
    this.reads.set(read.entraEventId, { ...read });
    return true;
  }

  knownEventIds(ids: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(ids.filter((id) => this.reads.has(id))));
  }

  matchedDisclosures(disclosureIds: readonly string[]): Promise<Set<string>> {
    const matched = new Set([...this.reads.values()].map((read) => read.matchedDisclosureId));
    return Promise.resolve(new Set(disclosureIds.filter((id) => matched.has(id))));
  }

  keyReads(window: { from?: string; to?: string }): Promise<StoredKeyRead[]> {
    const from = window.from === undefined ? -Infinity : Date.parse(window.from);
    const to = window.to === undefined ? Infinity : Date.parse(window.to);
    const found = [...this.reads.values()].filter((read) => {
      const time = Date.parse(read.activityDateTime);
      return time >= from && time < to;
    });
    return Promise.resolve(found.sort(byTime).map((read) => ({ ...read })));
  }

  unreported(): Promise<StoredKeyRead[]> {
    const found = [...this.reads.values()].filter((read) => isOutOfBand(read) && read.reportedRecordId === null && !this.#claimed.has(read.entraEventId));
    return Promise.resolve(found.sort(byTime).map((read) => ({ ...read })));
  }

  claimReport(entraEventId: string): Promise<boolean> {
    const read = this.reads.get(entraEventId);
    if (!read || !isOutOfBand(read) || read.reportedRecordId !== null || this.#claimed.has(entraEventId)) return Promise.resolve(false);
    this.#claimed.add(entraEventId);
    return Promise.resolve(true);
  }

  completeReport(entraEventId: string, recordId: string): Promise<void> {
    this.markReported(entraEventId, recordId);
    return Promise.resolve();
  }

  markReported(entraEventId: string, recordId: string): void {
    this.#claimed.delete(entraEventId);
    const read = this.reads.get(entraEventId);
    if (read) read.reportedRecordId = recordId;
  }

  releaseReport(entraEventId: string): Promise<void> {
    this.#claimed.delete(entraEventId);
    return Promise.resolve();
  }

  beginRun(startedAt: string, staleBefore: string): Promise<boolean> {
    if (this.#runningSince !== null && Date.parse(this.#runningSince) > Date.parse(staleBefore)) return Promise.resolve(false);
    this.#runningSince = startedAt;
    return Promise.resolve(true);
  }

  endRun(run: ReconcileRun): Promise<void> {
    this.recordRun(run);
    this.#runningSince = null;
    return Promise.resolve();
  }

  /** The run's effect on the state, without touching the lease (the file store's replay). */
  recordRun(run: ReconcileRun): void {
    this.#state = { lastRun: run, ...coverageOf(coveredAfter(this.#state.coveredSpans, run)) };
  }

  state(): Promise<ReconcileState> {
    return Promise.resolve({ ...this.#state, coveredSpans: this.#state.coveredSpans.map((span) => ({ ...span })), running: this.#runningSince !== null });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function byTime(a: StoredKeyRead, b: StoredKeyRead): number {
  return Date.parse(a.activityDateTime) - Date.parse(b.activityDateTime) || a.entraEventId.localeCompare(b.entraEventId);
}
