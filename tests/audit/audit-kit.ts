import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { onTestFinished } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import type { AuditFileHandle, AuditFileSystem } from '../../src/audit/file/file-system.js';
import { nodeFileSystem } from '../../src/audit/file/file-system.js';
import type { AuditEntry, AuditRecord } from '../../src/audit/types.js';
import { GENESIS_HASH, computeRecordHash, hashAlgFor, type ChainHead } from '../../src/audit/chain.js';
import { AUDIT_ENTRY_FIELDS } from '../../src/schemas/audit.js';

/** Shared by the audit tests: temp files, entries, a log that can be read back, a failing disk. */

/** A path in a fresh temp directory (removed after the test); the `trail/` folder does not exist yet. */
export async function tempAuditFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keydesk-audit-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'trail', 'audit.jsonl');
}

export function disclosureEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    action: 'disclosure',
    outcome: 'granted',
    code: null,
    door: 'api',
    disclosureId: '4f7c2a9e-0b1d-4c3e-9a8f-1e2d3c4b5a69',
    requestId: 'req-1',
    callerRequestId: null,
    caller: {
      kind: 'app',
      appId: '11111111-2222-3333-4444-555555555555',
      oid: '66666666-7777-8888-9999-000000000000',
      upn: null,
      name: 'ServiceNow',
      ip: '203.0.113.7',
      userAgent: 'servicenow/1.0',
    },
    agentUpn: 'agent@contoso.example',
    requesterUpn: 'alice@contoso.example',
    ticket: 'INC0012345',
    reason: 'locked_out',
    comment: null,
    device: { id: 'dev-object-id', deviceId: 'dev-device-id', displayName: 'LAPTOP-ALICE' },
    recoveryKeyId: 'b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f',
    keyIdInput: 'B0C1D2E3',
    checks: { ticket: true, reason: true, deviceResolved: true, keyIdMatched: true, requester: 'passed', deviceEnabled: 'passed', requesterMatchedAs: 'registered_owner', requesterEnabled: 'passed' },
    graphClientRequestId: 'client-req-1',
    graphRequestId: 'graph-req-1',
    details: null,
    ...overrides,
  };
}

export async function readRecords(file: string): Promise<AuditRecord[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}

export async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((line) => line !== '');
}

export interface LogLine {
  level: number;
  msg: string;
  audit?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A real pino logger whose output is kept in memory as parsed lines. */
export function memoryLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void raw.push(chunk) });
  return {
    logger,
    get lines() {
      return raw.map((chunk) => JSON.parse(chunk) as LogLine);
    },
    text: () => raw.join(''),
  };
}

export function ioError(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: 'EIO', errno: -5, syscall });
}

interface Faults {
  /** Upcoming writes to fail; each writes half its bytes first, like a disk filling up mid-write. */
  write: number;
  sync: number;
  truncate: number;
  /** While set, fsyncs of the audit file wait for it: holds a commit in flight. */
  holdSync: Promise<void> | null;
}

/**
 * The real file system, except that operations on `file` fail when told to and are counted.
 * Other paths (the directory, torn files) pass through untouched.
 */
export function faultyFileSystem(file: string): {
  fileSystem: AuditFileSystem;
  faults: Faults;
  calls: { write: number; sync: number };
} {
  const faults: Faults = { write: 0, sync: 0, truncate: 0, holdSync: null };
  const calls = { write: 0, sync: 0 };
  const wrap = (handle: AuditFileHandle): AuditFileHandle => ({
    read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
    async write(buffer) {
      calls.write += 1;
      if (faults.write > 0) {
        faults.write -= 1;
        await handle.write(buffer.subarray(0, Math.floor(buffer.length / 2)));
        throw ioError('write');
      }
      return handle.write(buffer);
    },
    async sync() {
      calls.sync += 1;
      if (faults.holdSync !== null) await faults.holdSync;
      if (faults.sync > 0) {
        faults.sync -= 1;
        throw ioError('fsync');
      }
      return handle.sync();
    },
    async truncate(length) {
      if (faults.truncate > 0) {
        faults.truncate -= 1;
        throw ioError('ftruncate');
      }
      return handle.truncate(length);
    },
    chmod: (mode) => handle.chmod(mode),
    stat: () => handle.stat(),
    close: () => handle.close(),
  });
  return {
    fileSystem: {
      async open(path, flags, mode) {
        const handle = await nodeFileSystem.open(path, flags, mode);
        return path === file ? wrap(handle) : handle;
      },
    },
    faults,
    calls,
  };
}

/** A fixed clock, so torn-file names and record times are predictable. */
export function fixedClock(iso = '2025-03-04T05:06:07.089Z'): () => Date {
  return () => new Date(iso);
}

/** Writes `count` disclosure records (tickets INC0000001...) through a real trail, then closes it. */
export async function writeTrail(file: string, count: number, hmacKey: Buffer | null = null): Promise<void> {
  const trail = await openFileAuditTrail({ file, hmacKey, logger: memoryLogger().logger });
  for (let n = 1; n <= count; n += 1) {
    await trail.append(disclosureEntry({ ticket: `INC${String(n).padStart(7, '0')}` }));
  }
  await trail.close();
}

/** The member order of a record: seq, id, time, the entry's members, then the chain members. */
type Unhashed = Record<string, unknown> & { seq: number; prevHash: string };

export interface SealedLines {
  lines: string[];
  head: ChainHead;
}

/**
 * Records chained by the real hash function, built in memory and returned as the lines the trail
 * writes: a 100,000-record trail in a few seconds instead of 100,000 fsyncs. `entryAt(seq)` gives
 * each record's entry in today's shape; `shape` 'legacy' writes it as KeyDesk did before `door`,
 * `callerRequestId` and the newer check results existed.
 */
export function sealedLines(
  count: number,
  entryAt: (seq: number) => AuditEntry,
  options: { from?: ChainHead; hmacKey?: Buffer | null; shape?: 'current' | 'legacy'; timeAt?: (seq: number) => string; idAt?: (seq: number) => string } = {},
): SealedLines {
  const hmacKey = options.hmacKey ?? null;
  const timeAt = options.timeAt ?? ((seq: number) => new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString());
  let head: ChainHead = options.from ?? { seq: 0, hash: GENESIS_HASH };
  const lines: string[] = [];
  for (let n = 1; n <= count; n += 1) {
    const seq = head.seq + 1;
    const members = options.shape === 'legacy' ? legacyMembers(entryAt(seq)) : currentMembers(entryAt(seq));
    const unhashed: Unhashed = { seq, id: options.idAt?.(seq) ?? `rec-${seq}`, time: timeAt(seq), ...members, hashAlg: hashAlgFor(hmacKey), prevHash: head.hash };
    const hash = computeRecordHash(unhashed, hmacKey);
    lines.push(JSON.stringify({ ...unhashed, hash }));
    head = { seq, hash };
  }
  return { lines, head };
}

function currentMembers(entry: AuditEntry): Record<string, unknown> {
  return Object.fromEntries(AUDIT_ENTRY_FIELDS.map((field) => [field, entry[field] ?? null]));
}

/** The entry members as KeyDesk wrote them before this change, in its order. */
function legacyMembers(entry: AuditEntry): Record<string, unknown> {
  const { door: _door, callerRequestId: _callerRequestId, checks, ...rest } = currentMembers(entry) as AuditEntry;
  const legacyChecks =
    checks === null ? null : { ticket: checks.ticket, reason: checks.reason, deviceResolved: checks.deviceResolved, keyIdMatched: checks.keyIdMatched, requester: checks.requester };
  return { ...rest, checks: legacyChecks };
}

export async function writeLines(file: string, lines: readonly string[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, lines.map((line) => `${line}\n`).join(''));
}
