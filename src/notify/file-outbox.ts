import { open, stat, type FileHandle } from 'node:fs/promises';
import type { ChainHead } from '../audit/chain.js';
import { readPrivateJson, replaceFileAtomically } from '../audit/file/private-json-file.js';
import { normaliseAuditRecord } from '../audit/query.js';
import type { AuditRecord } from '../audit/types.js';
import type { ChannelName } from './channel.js';
import type { OutboxQueue, PendingNotification } from './outbox.js';

/**
 * The outbox of the file store: the trail itself, read forward, and one cursor file per channel
 * beside AUDIT_FILE (`<AUDIT_FILE>.outbox-<channel>.json`, 0600): the last record settled for
 * that channel (delivered, failed, or not wanted, or set aside), its byte offset, and the records
 * set aside for a retry. A channel is delivered in trail order, one record at a time, except that
 * a record the receiver refused waits aside (up to PARKED_MAX of them) for its retry while the
 * later ones go on: one payload a receiver keeps refusing does not hold back the rest for
 * NOTIFY_RETRY_HOURS. When that many wait, the next one waits in line. The cursor is fsynced (written aside, fsynced, renamed, the folder fsynced) after every
 * delivery, so after a restart each pending notification is delivered once: not lost, and not
 * sent again unless KeyDesk died between the receiver's answer and the cursor's fsync.
 * A new cursor starts at the trail's end: history is not replayed to a channel added later.
 */

interface Cursor {
  /** The last record settled (or set aside) for the channel. */
  seq: number;
  /** Byte offset just after that record's line. */
  offset: number;
  /** Failed attempts of the next wanted record. */
  attempts: number;
  /** Epoch ms before which the next wanted record is not tried again. */
  nextAttemptAt: number;
  /** Records behind the cursor waiting for a retry, oldest first; absent in cursors written before. */
  parked?: Parked[];
}

interface Parked {
  seq: number;
  /** Byte offset where its line starts. */
  start: number;
  attempts: number;
  nextAttemptAt: number;
}

/** Records set aside for a retry per channel at most. */
const PARKED_MAX = 100;

interface Buffered {
  record: AuditRecord;
  /** Byte offset just after its line. */
  end: number;
}

/** Records read ahead per channel at most: a channel down for long does not fill memory. */
const READ_AHEAD = 1000;
const CHUNK_BYTES = 256 * 1024;

export function cursorFileOf(auditFile: string, channel: ChannelName): string {
  return `${auditFile}.outbox-${channel}.json`;
}

function writeCursor(path: string, cursor: Cursor): Promise<void> {
  return replaceFileAtomically(path, `${JSON.stringify(cursor)}\n`);
}

function readCursor(path: string): Promise<Cursor | null> {
  return readPrivateJson(
    path,
    (value) => {
      const cursor = value as Cursor;
      if (![cursor.seq, cursor.offset, cursor.attempts, cursor.nextAttemptAt].every(Number.isSafeInteger)) throw new Error('not a cursor');
      if (cursor.parked !== undefined && !(Array.isArray(cursor.parked) && cursor.parked.every((p) => [p.seq, p.start, p.attempts, p.nextAttemptAt].every(Number.isSafeInteger)))) {
        throw new Error('not a cursor');
      }
      return cursor;
    },
    "move it aside to restart that channel from the trail's end",
  );
}

/** Reads the trail forward from a byte offset: whole lines of durable records only. */
class TrailReader {
  #handle: FileHandle | null = null;
  constructor(readonly file: string) {}

  async #open(): Promise<FileHandle> {
    this.#handle ??= await open(this.file, 'r');
    return this.#handle;
  }

  /** Records after `offset`, at most `max`, none past `head`. */
  async read(offset: number, head: number, max: number): Promise<Buffered[]> {
    const handle = await this.#open();
    const out: Buffered[] = [];
    let position = offset;
    let carry = Buffer.alloc(0);
    while (out.length < max) {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position + carry.length);
      if (bytesRead === 0) break;
      let bytes = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let newline = bytes.indexOf(0x0a);
      while (newline !== -1 && out.length < max) {
        const record = normaliseAuditRecord(JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Record<string, unknown>);
        if (record.seq > head) return out;
        position += newline + 1;
        out.push({ record, end: position });
        bytes = bytes.subarray(newline + 1);
        newline = bytes.indexOf(0x0a);
      }
      carry = bytes;
    }
    return out;
  }

  /** The seq of the record whose line ends at `offset`, or null when no line ends there. */
  async seqEndingAt(offset: number): Promise<number | null> {
    if (offset === 0) return 0;
    const handle = await this.#open();
    const length = Math.min(offset, CHUNK_BYTES * 4);
    const bytes = Buffer.alloc(length);
    await handle.read(bytes, 0, length, offset - length);
    if (bytes[length - 1] !== 0x0a) return null;
    const start = bytes.lastIndexOf(0x0a, length - 2) + 1;
    if (start === 0 && length < offset) return null;
    try {
      return (JSON.parse(bytes.subarray(start, length - 1).toString('utf8')) as { seq: number }).seq;
    } catch {
      return null;
    }
  }

  /** The offset just after record `seq`, found by reading from the start. */
  async offsetAfter(seq: number): Promise<number> {
    let offset = 0;
    for (;;) {
      const batch = await this.read(offset, seq, READ_AHEAD);
      if (batch.length === 0) return offset;
      offset = batch.at(-1)!.end;
      if (batch.at(-1)!.record.seq >= seq) return offset;
    }
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
  }
}

interface ChannelState {
  path: string;
  cursor: Cursor;
  ahead: Buffered[];
  wants: (record: AuditRecord) => boolean;
}

export interface FileOutboxOptions {
  auditFile: string;
  head: () => Promise<ChainHead>;
  /** Each channel's choice of records (channels.ts `queuedFor`). */
  channels: ReadonlyMap<ChannelName, (record: AuditRecord) => boolean>;
}

/** Opens (or creates, at the trail's end) each channel's cursor. */
export async function openFileOutboxQueue(options: FileOutboxOptions): Promise<OutboxQueue> {
  const reader = new TrailReader(options.auditFile);
  const head = await options.head();
  const states = new Map<ChannelName, ChannelState>();
  for (const [channel, wants] of options.channels) {
    const path = cursorFileOf(options.auditFile, channel);
    let cursor = await readCursor(path);
    if (cursor === null || (await reader.seqEndingAt(cursor.offset)) !== cursor.seq) {
      // A new channel starts at the trail's end; a cursor whose offset does not end its record is found again by seq.
      const seq = cursor?.seq ?? head.seq;
      const size = (await stat(options.auditFile)).size;
      const offset = (await reader.seqEndingAt(size)) === seq ? size : await reader.offsetAfter(seq);
      cursor = { seq, offset, attempts: cursor?.attempts ?? 0, nextAttemptAt: cursor?.nextAttemptAt ?? 0, ...(cursor?.parked ? { parked: cursor.parked } : {}) };
      await writeCursor(path, cursor);
    }
    states.set(channel, { path, cursor, ahead: [], wants });
  }
  return fileQueue(reader, states, options.head);
}

function parkedOf(state: ChannelState): Parked[] {
  return state.cursor.parked ?? [];
}
/** The next record in line is set aside with its retry time; the cursor moves past it. */
function park(state: ChannelState, first: Buffered, next: Pick<Cursor, 'attempts' | 'nextAttemptAt'>): void {
  const parked = [...parkedOf(state), { seq: first.record.seq, start: state.cursor.offset, ...next }];
  state.ahead.shift();
  state.cursor = { seq: first.record.seq, offset: first.end, attempts: 0, nextAttemptAt: 0, parked };
}
/** Settles the next record in line: delivered or failed (`next` null), or to be retried. */
function settleFront(state: ChannelState, channel: ChannelName, item: PendingNotification, next: Pick<Cursor, 'attempts' | 'nextAttemptAt'> | null): void {
  const first = state.ahead[0];
  if (first?.record.seq !== item.record.seq) throw new Error(`the ${channel} outbox settled seq ${item.record.seq}, not the next one`);
  if (next === null) {
    state.ahead.shift();
    state.cursor = { ...state.cursor, seq: first.record.seq, offset: first.end, attempts: 0, nextAttemptAt: 0 };
  } else if (parkedOf(state).length < PARKED_MAX) park(state, first, next);
  else state.cursor = { ...state.cursor, ...next };
}
/** The records set aside that are due, read back from the trail. */
async function dueParked(reader: TrailReader, state: ChannelState, now: number, limit: number): Promise<PendingNotification[]> {
  const due: PendingNotification[] = [];
  for (const aside of parkedOf(state).filter((p) => p.nextAttemptAt <= now).slice(0, limit)) {
    const [found] = await reader.read(aside.start, aside.seq, 1);
    const record = found?.record.seq === aside.seq ? found.record : (await reader.read(await reader.offsetAfter(aside.seq - 1), aside.seq, 1))[0]?.record;
    if (record) due.push({ record, attempts: aside.attempts });
  }
  return due;
}
function fileQueue(reader: TrailReader, states: Map<ChannelName, ChannelState>, head: () => Promise<ChainHead>): OutboxQueue {
  const stateOf = (channel: ChannelName) => {
    const state = states.get(channel);
    if (!state) throw new Error(`no outbox cursor for channel ${channel}`);
    return state;
  };
  /** Reads ahead and moves the cursor (in memory) past records the channel does not want. */
  async function front(state: ChannelState): Promise<Buffered | null> {
    for (let reads = 0; reads < 20; reads += 1) {
      if (state.ahead.length === 0) state.ahead = await reader.read(state.cursor.offset, (await head()).seq, READ_AHEAD);
      if (state.ahead.length === 0) return null;
      while (state.ahead.length > 0 && !state.wants(state.ahead[0]!.record)) {
        const skipped = state.ahead.shift()!;
        state.cursor = { ...state.cursor, seq: skipped.record.seq, offset: skipped.end, attempts: 0, nextAttemptAt: 0 };
      }
      if (state.ahead.length > 0) return state.ahead[0]!;
    }
    return null;
  }
  async function settle(channel: ChannelName, item: PendingNotification, next: Pick<Cursor, 'attempts' | 'nextAttemptAt'> | null): Promise<void> {
    const state = stateOf(channel);
    const parked = parkedOf(state);
    const aside = parked.findIndex((p) => p.seq === item.record.seq);
    if (aside === -1) settleFront(state, channel, item, next);
    else {
      const rest = next === null ? parked.filter((_, index) => index !== aside) : parked.map((p, index) => (index === aside ? { ...p, ...next } : p));
      state.cursor = { ...state.cursor, parked: rest };
    }
    await writeCursor(state.path, state.cursor);
  }
  return {
    // Those set aside that are due, then the next in line: one refused again does not starve the rest.
    async due(channel, now, limit) {
      const state = stateOf(channel);
      const due = await dueParked(reader, state, now, Math.max(1, limit - 1));
      const next = await front(state);
      if (next !== null && state.cursor.nextAttemptAt <= now) due.push({ record: next.record, attempts: state.cursor.attempts });
      return due;
    },
    delivered: (channel, item) => settle(channel, item, null),
    retryAt: (channel, item, at) => settle(channel, item, { attempts: item.attempts + 1, nextAttemptAt: Math.ceil(at) }),
    failed: (channel, item) => settle(channel, item, null),
    release: async () => undefined,
    async depth(channel) {
      const state = stateOf(channel);
      await front(state);
      return state.ahead.filter(({ record }) => state.wants(record)).length + parkedOf(state).length;
    },
    async close() {
      // Where the cursors moved past records no channel wanted, that is kept too.
      for (const state of states.values()) await writeCursor(state.path, state.cursor);
      await reader.close();
    },
  };
}
