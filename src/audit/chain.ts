import { createHash, createHmac } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEntry, AuditRecord } from './types.js';
import { AUDIT_ENTRY_FIELDS } from '../schemas/audit.js';

/**
 * The hash chain, as pure functions shared by the sink (which seals records) and the verifier
 * (which re-derives them). Keeping both on one implementation is what lets the verifier trust a
 * mismatch as tampering rather than as two codes disagreeing.
 */

/** The prevHash of the first record: there is nothing before it to chain to. */
export const GENESIS_HASH = '0'.repeat(64);

export type HashAlg = AuditRecord['hashAlg'];
export type UnhashedRecord = Omit<AuditRecord, 'hash'>;

/** The last link of a chain; seq 0 with GENESIS_HASH for an empty trail. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** The chain members of one line, read without trusting the rest of it. */
export interface ChainLink extends ChainHead {
  hashAlg: HashAlg;
  prevHash: string;
}

export interface RecordPosition {
  seq: number;
  id: string;
  time: string;
  prevHash: string;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function hashAlgFor(hmacKey: Buffer | null): HashAlg {
  return hmacKey === null ? 'sha256' : 'hmac-sha256';
}

/**
 * Hex SHA-256 (HMAC-SHA-256 when `hmacKey` is set) over the RFC 8785 canonical JSON of a record
 * without its `hash` member. Canonical JSON makes the hash independent of member order and of how
 * a JSON library formats numbers, so any tool can re-derive it; covering seq and prevHash is what
 * makes deleting, inserting or reordering records visible.
 */
export function computeRecordHash(unhashed: Readonly<Record<string, unknown>>, hmacKey: Buffer | null): string {
  const canonical = canonicalize(unhashed);
  if (canonical === undefined) throw new TypeError('an audit record must be a JSON object');
  const digest = hmacKey === null ? createHash('sha256') : createHmac('sha256', hmacKey);
  return digest.update(canonical, 'utf8').digest('hex');
}

/** Builds the record the sink writes for `entry` at `position`, hash included. */
export function sealRecord(entry: AuditEntry, position: RecordPosition, hmacKey: Buffer | null): AuditRecord {
  const unhashed = asStoredJson<UnhashedRecord>({
    seq: position.seq,
    id: position.id,
    time: position.time,
    ...pickEntryFields(entry),
    hashAlg: hashAlgFor(hmacKey),
    prevHash: position.prevHash,
  });
  return { ...unhashed, hash: computeRecordHash(unhashed, hmacKey) };
}

/** Reads the chain members of a parsed line; null when any is missing or malformed. */
export function readChainLink(value: unknown): ChainLink | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { seq, hashAlg, prevHash, hash } = value as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  if (hashAlg !== 'sha256' && hashAlg !== 'hmac-sha256') return null;
  if (typeof prevHash !== 'string' || !HEX_SHA256.test(prevHash)) return null;
  if (typeof hash !== 'string' || !HEX_SHA256.test(hash)) return null;
  return { seq, hashAlg, prevHash, hash };
}

/**
 * Whether a stored record re-derives its own hash. A value RFC 8785 cannot encode (e.g. 1e400)
 * counts as a mismatch rather than a throw: the sink never writes one.
 */
export function recordHashMatches(record: Readonly<Record<string, unknown>>, hmacKey: Buffer | null, hash: string): boolean {
  const { hash: _hash, ...unhashed } = record;
  try {
    return computeRecordHash(unhashed, hmacKey) === hash;
  } catch {
    return false;
  }
}

/**
 * Copies the known members only, in the schema's order: a caller that spreads a larger object into
 * an entry (a Graph response, say) must not smuggle anything else into the trail.
 */
function pickEntryFields(entry: AuditEntry): AuditEntry {
  const picked: Record<string, unknown> = {};
  for (const field of AUDIT_ENTRY_FIELDS) picked[field] = entry[field] ?? null;
  return picked as AuditEntry;
}

/** A `\ud800`–`\udfff` escape (or a backslash followed by such letters: the slow path is then merely unneeded). */
const MAYBE_LONE_SURROGATE = /\\ud[89a-f]/i;

/**
 * The value exactly as the verifier will parse it back from the line. Hashing anything else
 * (an undefined member, a Date, a lone surrogate from a caller's comment) would make an honest
 * record fail verification. Lone surrogates become U+FFFD: RFC 8785 cannot encode them, and
 * refusing the record would turn a stray character into a refused disclosure.
 */
function asStoredJson<T>(value: T): T {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('an audit record must be a JSON object');
  // JSON.stringify writes a lone surrogate as a \udXXX escape and nothing else does, so without
  // one the reviver (a regex over every string: 40 % of sealing a record) has nothing to do.
  if (!MAYBE_LONE_SURROGATE.test(json)) return JSON.parse(json) as T;
  return JSON.parse(json, (_key, member: unknown) =>
    typeof member === 'string' ? member.replace(/\p{Cs}/gu, '\uFFFD') : member,
  ) as T;
}
