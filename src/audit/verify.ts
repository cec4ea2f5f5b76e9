import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { GENESIS_HASH, readChainLink, recordHashMatches, type ChainHead, type ChainLink, type HashAlg } from './chain.js';

/**
 * Checks an audit trail, a file or a database's `line` column: every line a record, seq
 * consecutive from 1, each prevHash the previous hash, each hash re-derived. That catches edits,
 * deletions, insertions and reordering anywhere in the trail, but not records cut off its end: a
 * shorter trail is a valid chain. A signed checkpoint shows that (audit/checkpoints); the trail
 * also logs its chain head after every write, to compare with the head reported here.
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
  /** 1-based position of the line: its line number in a file, its row in seq order in a database. */
  line: number;
  /** The seq the line claims, when it has one. */
  seq: number | null;
  reason: string;
  /**
   * True when the line could not be checked rather than found broken: it is HMAC-chained and no
   * key was given. A wrong key stays a mismatch (broken): on one record it cannot be told from an
   * edit.
   */
  unchecked?: true;
}

export type VerifyResult =
  /** `start`: the head before the first record: seq 0 for a whole trail; for a partial one, the seq before its first and that record's prevHash. */
  | { ok: true; records: number; head: ChainHead; start: ChainHead }
  /** `records`: how many records verified before the first broken line. */
  | { ok: false; records: number; firstBroken: BrokenLink };

/** One line of a trail, as its store holds it. */
export interface TrailLine {
  bytes: Buffer;
  /** False for a file's last line when no LF follows it: a torn write. */
  terminated: boolean;
  /** A further check the store makes of the parsed record (a database row's columns against it); null when it agrees. */
  check?: (record: Readonly<Record<string, unknown>>) => string | null;
}

export interface VerifiedRecord {
  bytes: Buffer;
  record: Readonly<Record<string, unknown>>;
  link: ChainLink;
}

export interface VerifyOptions {
  /**
   * A trail that need not begin at seq 1 (an export with `--since`): the first record's prevHash
   * is taken on trust, so only the records' agreement among themselves is shown.
   */
  partial?: boolean;
  /** Called with each record once it verified, in order; the next line waits for it. */
  onRecord?: (verified: VerifiedRecord) => void | Promise<void>;
}

/**
 * The one verification of a trail, whatever store holds it: a file (`verifyAuditFile`), a
 * database's `line` column, or a file on its way into a database.
 */
export async function verifyTrailLines(lines: AsyncIterable<TrailLine>, hmacKey: Buffer | null, options: VerifyOptions = {}): Promise<VerifyResult> {
  const genesis: ChainHead = { seq: 0, hash: GENESIS_HASH };
  let start: ChainHead | null = options.partial === true ? null : genesis;
  let head: ChainHead | null = start;
  let line = 0;
  for await (const { bytes, terminated, check } of lines) {
    line += 1;
    const checked = checkLine(bytes, head, hmacKey, check);
    if ('reason' in checked) return { ok: false, records: line - 1, firstBroken: { line, ...checked } };
    if (!terminated) {
      const reason = 'the last line has no newline: a write was torn by a crash; KeyDesk moves it aside at its next start';
      return { ok: false, records: line - 1, firstBroken: { line, seq: checked.link.seq, reason } };
    }
    start ??= { seq: checked.link.seq - 1, hash: checked.link.prevHash };
    head = { seq: checked.link.seq, hash: checked.link.hash };
    await options.onRecord?.({ bytes, ...checked });
  }
  return { ok: true, records: line, head: head ?? genesis, start: start ?? genesis };
}

/** Rejects with the file system's error when the file cannot be read (ENOENT, EACCES, EISDIR). */
export async function verifyAuditFile(path: string, hmacKey: Buffer | null, options: VerifyOptions = {}): Promise<VerifyResult> {
  const handle = await open(path, 'r');
  try {
    return await verifyTrailLines(readLines(handle), hmacKey, options);
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
export async function* readLines(handle: FileHandle): AsyncGenerator<TrailLine> {
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

type CheckedLine = Omit<VerifiedRecord, 'bytes'>;

/** The checks of one line against the chain so far: the new head, or why the chain breaks here. */
function checkLine(
  bytes: Buffer,
  previous: ChainHead | null,
  hmacKey: Buffer | null,
  check: TrailLine['check'],
): CheckedLine | Omit<BrokenLink, 'line'> {
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
  const bytesWrong = bytesProblem(bytes);
  if (bytesWrong === null && link.hashAlg === 'hmac-sha256' && hmacKey === null) {
    return { seq: link.seq, reason: 'the record is HMAC-SHA-256 chained and no HMAC key was given: set AUDIT_HMAC_KEY to the key KeyDesk writes with', unchecked: true };
  }
  const problem = bytesWrong ?? checkHashAlg(link.hashAlg, hmacKey) ?? checkLink(link, previous ?? trustedPrevious(link));
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
  const record = value as Record<string, unknown>;
  const disagreement = check?.(record) ?? null;
  return disagreement === null ? { record, link } : broken(disagreement);
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

/**
 * What a partial trail's first record chains to: whatever came before it, its prevHash taken on
 * trust; nothing came before seq 1.
 */
function trustedPrevious(link: ChainLink): ChainHead {
  return link.seq === 1 ? { seq: 0, hash: GENESIS_HASH } : { seq: link.seq - 1, hash: link.prevHash };
}

function checkLink(link: ChainLink, previous: ChainHead): string | null {
  if (link.seq !== previous.seq + 1) return `seq ${link.seq} follows seq ${previous.seq}: a record was deleted, inserted or moved`;
  if (link.prevHash !== previous.hash) return 'prevHash is not the hash of the previous record: a record before it was replaced or inserted';
  return null;
}

function checkHashAlg(hashAlg: HashAlg, hmacKey: Buffer | null): string | null {
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
