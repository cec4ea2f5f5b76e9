import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { GENESIS_HASH, readChainLink, recordHashMatches, type ChainHead, type HashAlg } from './chain.js';
import { readAt } from './file/file-system.js';

/**
 * Checks a whole audit file: every line a record, seq consecutive from 1, each prevHash the
 * previous hash, each hash re-derived. That catches edits, deletions, insertions and reordering
 * anywhere in the file, but not records cut off its end: a shorter file is a valid chain. The
 * sink logs its chain head after every write for that reason; compare the head reported here
 * with the last one in the service log.
 *
 * The mode is strict: with an HMAC key every record must be HMAC-chained, since anyone can
 * rewrite a plain SHA-256 chain; without one, HMAC records cannot be checked and say so.
 */

export interface BrokenLink {
  /** 1-based line number in the file. */
  line: number;
  /** The seq the line claims, when it has one. */
  seq: number | null;
  reason: string;
}

export type VerifyResult =
  | { ok: true; records: number; head: ChainHead }
  /** `records`: how many records verified before the first broken line. */
  | { ok: false; records: number; firstBroken: BrokenLink };

/** Rejects with the file system's error when the file cannot be read (ENOENT, EACCES, EISDIR). */
export async function verifyAuditFile(path: string, hmacKey: Buffer | null): Promise<VerifyResult> {
  const handle = await open(path, 'r');
  try {
    let head: ChainHead = { seq: 0, hash: GENESIS_HASH };
    let line = 0;
    for await (const text of createInterface({ input: handle.createReadStream({ autoClose: false }), crlfDelay: Infinity })) {
      line += 1;
      const checked = checkLine(text, head, hmacKey);
      if ('reason' in checked) return { ok: false, records: line - 1, firstBroken: { line, ...checked } };
      head = checked;
    }
    if (line > 0 && !(await endsWithNewline(handle))) {
      const reason = 'the last line has no newline: a write was torn by a crash; KeyDesk moves it aside at its next start';
      return { ok: false, records: line - 1, firstBroken: { line, seq: head.seq, reason } };
    }
    return { ok: true, records: line, head };
  } finally {
    await handle.close();
  }
}

/** The checks of one line against the chain so far: the new head, or why the chain breaks here. */
function checkLine(text: string, previous: ChainHead, hmacKey: Buffer | null): ChainHead | Omit<BrokenLink, 'line'> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { seq: null, reason: 'the line is not valid JSON' };
  }
  const link = readChainLink(value);
  if (link === null) {
    return { seq: claimedSeq(value), reason: 'the line is not an audit record: seq, hashAlg, prevHash or hash is missing or malformed' };
  }
  const broken = (reason: string): Omit<BrokenLink, 'line'> => ({ seq: link.seq, reason });
  const modeProblem = checkHashAlg(link.hashAlg, hmacKey);
  if (modeProblem !== null) return broken(modeProblem);
  if (link.seq !== previous.seq + 1) {
    return broken(`seq ${link.seq} follows seq ${previous.seq}: a record was deleted, inserted or moved`);
  }
  if (link.prevHash !== previous.hash) {
    return broken('prevHash is not the hash of the previous record: a record before it was replaced or inserted');
  }
  // The sink writes each line as JSON.stringify of the record. Any other spelling of the same
  // value (a duplicated member, which JSON.parse resolves to the last one while another reader may
  // show the first, or reformatting) is not what KeyDesk wrote.
  if (JSON.stringify(value) !== text) {
    return broken('the line is not byte for byte as KeyDesk writes it (a duplicated member, reordering or reformatting)');
  }
  if (!recordHashMatches(value as Record<string, unknown>, hmacKey, link.hash)) {
    return broken(`the hash does not match the record: it was edited${hmacKey === null ? '' : ', or the HMAC key is not the one it was written with'}`);
  }
  return { seq: link.seq, hash: link.hash };
}

function checkHashAlg(hashAlg: HashAlg, hmacKey: Buffer | null): string | null {
  if (hashAlg === 'hmac-sha256' && hmacKey === null) {
    return 'the record is HMAC-SHA-256 chained and no HMAC key was given: set AUDIT_HMAC_KEY to the key KeyDesk writes with';
  }
  if (hashAlg === 'sha256' && hmacKey !== null) {
    return 'the record is plain SHA-256 chained although an HMAC key was given: anyone could have rewritten it';
  }
  return null;
}

function claimedSeq(value: unknown): number | null {
  if (typeof value !== 'object' || value === null) return null;
  const { seq } = value as Record<string, unknown>;
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : null;
}

async function endsWithNewline(handle: FileHandle): Promise<boolean> {
  const { size } = await handle.stat();
  const last = await readAt(handle, size - 1, 1);
  return last[0] === 0x0a;
}
