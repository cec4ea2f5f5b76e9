import type { AuditFilter } from '../types.js';

/**
 * A cheap test of a stored line, done before JSON.parse: a line lacking a filter value as KeyDesk
 * writes it (JSON.stringify, no spaces) cannot match. The test may let through a line that does
 * not match (the value in another member); the exact filter runs after parsing. It must never
 * turn away one that does, so a value is only tested when its stored bytes are certain.
 *
 * Lines are tested as latin1 strings: one character per byte, so positions are byte offsets and
 * a non-ASCII value is tested by its UTF-8 bytes.
 */

export interface LineNeedle {
  /** The first position at or after `from` where the value may be, or -1. */
  find(text: string, from: number): number;
  /** Whether `line` may hold the value. */
  within(line: string): boolean;
  /** False when a window of the file cannot be tested with this needle (see KELVIN_SIGN). */
  usableIn(text: string): boolean;
}

/**
 * U+212A KELVIN SIGN, in UTF-8 bytes: the only character outside ASCII whose toLowerCase() is
 * ASCII ("k"). A device named with it equals "k…" case-insensitively, but its bytes do not.
 */
const KELVIN_SIGN = Buffer.from('\u212A', 'utf8').toString('latin1');

interface TestedMember {
  /** The filter member. */
  filter: Exclude<keyof AuditFilter, 'from' | 'to'>;
  /** The stored members that may hold its value. */
  stored: readonly string[];
  /** As matchesAuditFilter compares it. */
  caseless: boolean;
}

/** In the order of how few lines a value usually matches: the scanner finds lines by the first. */
const TESTED_MEMBERS: readonly TestedMember[] = [
  { filter: 'disclosureId', stored: ['disclosureId'], caseless: true },
  { filter: 'recoveryKeyId', stored: ['recoveryKeyId'], caseless: true },
  { filter: 'deviceId', stored: ['deviceId'], caseless: true },
  { filter: 'ticket', stored: ['ticket'], caseless: false },
  { filter: 'caller', stored: ['oid', 'upn', 'appId'], caseless: true },
  { filter: 'deviceName', stored: ['displayName'], caseless: true },
  { filter: 'requesterUpn', stored: ['requesterUpn'], caseless: true },
  { filter: 'agentUpn', stored: ['agentUpn'], caseless: true },
  { filter: 'code', stored: ['code'], caseless: false },
  { filter: 'outcome', stored: ['outcome'], caseless: false },
  { filter: 'door', stored: ['door'], caseless: false },
  { filter: 'action', stored: ['action'], caseless: false },
];

/** The needles of a filter, the most selective first. */
export function lineNeedles(filter: AuditFilter): LineNeedle[] {
  return TESTED_MEMBERS.flatMap(({ filter: member, stored, caseless }) => {
    const value = filter[member];
    const needle = caseless ? caselessNeedle(stored, value) : exactNeedle(stored[0]!, value);
    return needle === null ? [] : [needle];
  });
}

/** The needle of a record id (KeyDesk writes GUIDs in lower case, but a caller may not). */
export function idNeedle(id: string): LineNeedle[] {
  const needle = caselessNeedle(['id'], id);
  return needle === null ? [] : [needle];
}

function exactNeedle(member: string, value: string | undefined): LineNeedle | null {
  if (typeof value !== 'string') return null;
  const bytes = Buffer.from(`${JSON.stringify(member)}:${JSON.stringify(value)}`, 'utf8').toString('latin1');
  return {
    find: (text, from) => text.indexOf(bytes, from),
    within: (line) => line.includes(bytes),
    usableIn: () => true,
  };
}

/**
 * Only for a value whose lower case is printable ASCII without `"` or `\`: then any value equal
 * to it case-insensitively is ASCII too (but for KELVIN_SIGN) and stored verbatim, and an ASCII
 * case-insensitive regular expression finds it. Any other value is left to the exact filter.
 */
function caselessNeedle(names: readonly string[], value: string | undefined): LineNeedle | null {
  if (typeof value !== 'string') return null;
  const lower = value.toLowerCase();
  if (!/^[\x20-\x7e]*$/.test(lower) || /["\\]/.test(lower)) return null;
  // Without the `u` flag, `i` folds ASCII letters only: a latin1 character never matches one.
  const source = `"(?:${names.join('|')})":"${lower.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`;
  const anywhere = new RegExp(source, 'gi');
  const inLine = new RegExp(source, 'i');
  const mayMeetKelvin = lower.includes('k');
  return {
    find(text, from) {
      anywhere.lastIndex = from;
      return anywhere.exec(text)?.index ?? -1;
    },
    within: (line) => inLine.test(line),
    usableIn: (text) => !mayMeetKelvin || !text.includes(KELVIN_SIGN),
  };
}
