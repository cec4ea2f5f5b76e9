import type { AuditRecord } from '../audit/types.js';
import type { EntraKeyRead } from '../graph/types.js';
import type { MatchedBy } from './types.js';

/**
 * Which KeyDesk intent record an Entra key read is, if any. KeyDesk writes its
 * `disclosure_intent` (with the `client-request-id` it then sends) before it reads the key, so
 * Entra's event for that read comes after the intent: within MATCH_WINDOW_MS, give or take
 * CLOCK_SKEW_MS between KeyDesk's clock and Entra's. The intent counts whether the disclosure was
 * then granted or not: KeyDesk may have died after the read. Each intent accounts for one read.
 */

export const MATCH_WINDOW_MS = 10 * 60_000;
export const CLOCK_SKEW_MS = 60_000;

export interface KeyReadMatch {
  disclosureId: string;
  by: MatchedBy;
  intent: AuditRecord;
  /** The read carries the `client-request-id` of an intent another read accounts for already: KeyDesk's retry of it. */
  retry: boolean;
}

/** The span of intent times an event at `activityDateTime` may match: `from` inclusive, `to` exclusive. */
export function intentWindow(activityDateTime: string): { from: string; to: string } {
  const time = Date.parse(activityDateTime);
  return { from: new Date(time - MATCH_WINDOW_MS).toISOString(), to: new Date(time + CLOCK_SKEW_MS + 1).toISOString() };
}

function sameId(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/** True when KeyDesk's own app registration made the read (app-only access). */
export function readByKeyDesk(read: EntraKeyRead, clientId: string): boolean {
  return sameId(read.initiatedBy.appId, clientId);
}

/**
 * The intent `read` is, among `intents` (disclosure_intent records of its key around its time);
 * `taken` holds the disclosure ids other reads already account for. A `client-request-id` that
 * Entra carries (as `correlationId` or in `additionalDetails`) confirms a match — and when it is
 * the id of a taken intent, the read is KeyDesk's retry of that read (the gateway resends the same
 * id), not a read out of band. Without one the latest free intent before the read is taken.
 */
export function matchKeyRead(read: EntraKeyRead, intents: readonly AuditRecord[], clientId: string, taken: ReadonlySet<string>): KeyReadMatch | null {
  if (!readByKeyDesk(read, clientId) || read.keyId === null) return null;
  const time = Date.parse(read.activityDateTime);
  const candidates = intents
    .filter((intent) => intent.action === 'disclosure_intent' && intent.disclosureId !== null)
    .filter((intent) => sameId(intent.recoveryKeyId, read.keyId))
    .filter((intent) => {
      const since = time - Date.parse(intent.time);
      return since >= -CLOCK_SKEW_MS && since <= MATCH_WINDOW_MS;
    })
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const carried = [read.correlationId, ...read.detailIds];
  const confirmed = candidates.find((intent) => carried.some((id) => sameId(id, intent.graphClientRequestId)));
  if (confirmed) return { disclosureId: confirmed.disclosureId!, by: 'client_request_id', intent: confirmed, retry: taken.has(confirmed.disclosureId!) };
  const latest = candidates.find((intent) => !taken.has(intent.disclosureId!));
  return latest ? { disclosureId: latest.disclosureId!, by: 'key_and_time', intent: latest, retry: false } : null;
}
