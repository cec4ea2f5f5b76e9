import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { GENESIS_HASH, readChainLink, recordHashMatches, type ChainHead, type ChainLink, type HashAlg } from './chain.js';

/**
 * Checks a whole audit file: every line a record, seq consecutive from 1, each prevHash the
 * previous hash, each hash re-derived. That catches edits, deletions, insertions and reordering
 * anywhere in the file, but not records cut off its end: a shorter file is a valid chain. The
 * trail logs its chain head after every write for that reason; compare the head reported here
 * with the last one in the service log.
 *
 * The mode is strict: with an HMAC key every record must be HMAC-chained, since anyone can
 * rewrite a plain SHA-256 chain; without one, HMAC records cannot be checked and say so.
 *
 * The check is byte-exact: each line must be exactly the bytes KeyDesk wrote, JSON.stringify of
 * the record in UTF-8 and a LF. A file rewritten with CRLF endings, a byte order mark, trailing
 * spaces or bytes that are not UTF-8 is not the file KeyDesk wrote, even where every record still
 * parses to the same values. Records of any KeyDesk version verify: a record is checked against
 * its own members, so one written before a member existed simply lacks it.
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
    for await (const { bytes, terminated } of readLines(handle)) {
      line += 1;
      const checked = checkLine(bytes, head, hmacKey);
      if ('reason' in checked) return { ok: false, records: line - 1, firstBroken: { line, ...checked } };
      head = checked;
      if (!terminated) {
        const reason = 'the last line has no newline: a write was torn by a crash; KeyDesk moves it aside at its next start';
        return { ok: false, records: line - 1, firstBroken: { line, seq: head.seq, reason } };
      }
    }
    return { ok: true, records: line, head };
  } finally {
    await handle.close();
  }
}

const READ_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * The file's lines as raw bytes, split at LF only: a CR stays in the line, where the byte check
 * sees it (node:readline would drop it). The last line is unterminated when the file does not
 * end in LF.
 */
async function* readLines(handle: FileHandle): AsyncGenerator<{ bytes: Buffer; terminated: boolean }> {
  let carry: Buffer = Buffer.alloc(0);
  for (;;) {
    const chunk = Buffer.alloc(READ_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, READ_BYTES, null);
    if (bytesRead === 0) break;
    const bytes = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
      yield { bytes: bytes.subarray(start, end), terminated: true };
      start = end + 1;
    }
    carry = Buffer.from(bytes.subarray(start));
  }
  if (carry.length > 0) yield { bytes: carry, terminated: false };
}

/** The checks of one line against the chain so far: the new head, or why the chain breaks here. */
function checkLine(bytes: Buffer, previous: ChainHead, hmacKey: Buffer | null): ChainHead | Omit<BrokenLink, 'line'> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { seq: null, reason: bytesProblem(bytes) ?? 'the line is not valid JSON' };
  }
  const link = readChainLink(value);
  if (link === null) {
    return { seq: claimedSeq(value), reason: 'the line is not an audit record: seq, hashAlg, prevHash or hash is missing or malformed' };
  }
  const broken = (reason: string): Omit<BrokenLink, 'line'> => ({ seq: link.seq, reason });
  const problem = bytesProblem(bytes) ?? checkHashAlg(link.hashAlg, hmacKey) ?? checkLink(link, previous);
  if (problem !== null) return broken(problem);
  // The trail writes each line as JSON.stringify of the record. Any other spelling of the same
  // value (a duplicated member, which JSON.parse resolves to the last one while another reader may
  // show the first, or reformatting) is not what KeyDesk wrote.
  if (!Buffer.from(JSON.stringify(value), 'utf8').equals(bytes)) {
    return broken('the line is not byte for byte as KeyDesk writes it (spaces, a duplicated member, reordering or reformatting)');
  }
  if (!recordHashMatches(value as Record<string, unknown>, hmacKey, link.hash)) {
    return broken(`the hash does not match the record: it was edited${hmacKey === null ? '' : ', or the HMAC key is not the one it was written with'}`);
  }
  return { seq: link.seq, hash: link.hash };
}

/** Bytes KeyDesk never writes, named, so a rewrite by an editor or a copy tool is recognisable. */
function bytesProblem(bytes: Buffer): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return 'the line begins with a byte order mark, which KeyDesk never writes: the file was rewritten (by an editor or a conversion tool)';
  }
  if (bytes.at(-1) === 0x0d) return 'the line ends in CR LF, not LF: the file was rewritten with Windows line endings';
  if (!isUtf8(bytes)) return 'the line is not valid UTF-8: bytes were changed after KeyDesk wrote them';
  return null;
}

function checkLink(link: ChainLink, previous: ChainHead): string | null {
  if (link.seq !== previous.seq + 1) return `seq ${link.seq} follows seq ${previous.seq}: a record was deleted, inserted or moved`;
  if (link.prevHash !== previous.hash) return 'prevHash is not the hash of the previous record: a record before it was replaced or inserted';
  return null;
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
