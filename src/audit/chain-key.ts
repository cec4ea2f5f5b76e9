import { ConfigError } from '../config/config.js';
import { hashAlgFor, readChainLink, recordHashMatches, type HashAlg } from './chain.js';

/**
 * At start-up, whether AUDIT_HMAC_KEY is the key the trail was written with: the record the chain
 * continues from is re-hashed as audit:verify re-hashes it. A KeyDesk started with another key, or
 * none, would otherwise chain every new record in a way audit:verify reports as broken for ever,
 * so it refuses to start (ConfigError, exit 78) instead. Someone who altered that record also
 * makes its hash differ; KeyDesk cannot tell the two apart and says so.
 */

export interface TrailDescription {
  /** How the trail is named in the message, e.g. "the audit file /var/lib/keydesk/audit.jsonl". */
  name: string;
  /** How to begin a new trail, for a key that is set where the trail was written without one. */
  newTrail: string;
}

const ALG_NAMES: Record<HashAlg, string> = { sha256: 'plain SHA-256', 'hmac-sha256': 'HMAC-SHA-256' };

/** Throws ConfigError when the head record `line` does not verify under `hmacKey`; a line that is no record is left to audit:verify. */
export function checkChainKey(line: string | Readonly<Record<string, unknown>>, hmacKey: Buffer | null, trail: TrailDescription): void {
  const record = typeof line === 'string' ? parseRecord(line) : line;
  const link = record === null ? null : readChainLink(record);
  if (record === null || link === null) return;
  const problem = keyProblem(record, link.seq, link.hashAlg, link.hash, hmacKey, trail);
  if (problem !== null) throw new ConfigError([problem]);
}

function keyProblem(
  record: Readonly<Record<string, unknown>>,
  seq: number,
  hashAlg: HashAlg,
  hash: string,
  hmacKey: Buffer | null,
  trail: TrailDescription,
): string | null {
  const written = `${trail.name} is chained with ${ALG_NAMES[hashAlg]} (${hashAlg}; its last record is seq ${seq})`;
  const forever = 'records KeyDesk added now would make npm run audit:verify report the trail broken from then on';
  if (hashAlg !== hashAlgFor(hmacKey)) {
    return hmacKey === null
      ? `AUDIT_HMAC_KEY is not set, but ${written}: ${forever}. Set AUDIT_HMAC_KEY to the key the trail was written with, then start KeyDesk again.`
      : `AUDIT_HMAC_KEY is set, but ${written}, written without a key: ${forever}. Unset AUDIT_HMAC_KEY to continue this trail, or ${trail.newTrail} to chain with the key.`;
  }
  if (recordHashMatches(record, hmacKey, hash)) return null;
  return hmacKey === null
    ? `The last record (seq ${seq}) of ${trail.name} does not match its SHA-256 hash: it was altered after KeyDesk wrote it (AUDIT_HMAC_KEY is not set). Run npm run audit:verify and restore the record from a copy before starting KeyDesk again.`
    : `AUDIT_HMAC_KEY is not the key ${trail.name} was written with: its last record (seq ${seq}, hmac-sha256) does not match its hash under this key (a different key, or the record was altered since). ` +
        'Set AUDIT_HMAC_KEY to the key the trail was written with; if it is that key, run npm run audit:verify to find the damage.';
}

function parseRecord(line: string): Readonly<Record<string, unknown>> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
