import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../config/config.js';
import { readToolDatabaseUrl, type AuditVerifyEnv } from '../../config/audit-verify-config.js';
import { EXIT_INTACT, EXIT_UNCHECKED, isEntryPoint, parseCliArgs, processIo, stringOption, type CliIo } from '../cli.js';
import { nodeFileSystem, syncDirectory, writeAll } from '../file/file-system.js';
import { PRIVATE_FILE_MODE } from '../file/permissions.js';
import type { ChainHead } from '../chain.js';
import { databaseLabel } from './connection.js';
import { checkSchemaVersion, connectToolDatabase, describeToolError, inSnapshot, readChainHeadRow, trailRows } from './tool-database.js';

/**
 * `npm run audit:export -- [--database-url <url>] [--since <seq>] [--out <file>]`: the database
 * trail as the file store would have written it, record by record in seq order, read in one
 * snapshot a page at a time. A whole export verifies with `audit:verify -- <file>`; one `--since`
 * a seq with `audit:verify -- --partial <file>`. Exit 0 written, 2 not written.
 */

const USAGE = [
  'usage: npm run audit:export -- [--database-url <url>] [--since <seq>] [--out <file>]',
  'Writes the database trail in seq order, each record byte for byte as the file store writes it, to <file>',
  '(created 0600 and fsynced; an existing file is refused) or to stdout. Without --database-url, DATABASE_URL.',
  '--since <seq>  only the records after seq <seq> (e.g. the head seq of the previous export);',
  '               verify such a file with: npm run audit:verify -- --partial <file>',
  'Exit 0 written, 2 not written (usage, configuration, the database, the file).',
].join('\n');

const OPTIONS = {
  'database-url': { type: 'string' },
  since: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Where the lines go: written in chunks, then made durable, or thrown away when the export fails. */
interface LineSink {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<void>;
  discard(): Promise<void>;
}

interface ExportSummary {
  records: number;
  first: number | null;
  last: number | null;
  head: ChainHead;
}

/** `env` undefined means the process environment; `output` is where lines go without --out. */
export async function runExportCli(argv: readonly string[], env: AuditVerifyEnv | undefined, io: CliIo, output: Writable = process.stdout): Promise<number> {
  const args = parseCliArgs(argv, OPTIONS);
  if (args?.values.help === true) {
    io.out(USAGE);
    return EXIT_INTACT;
  }
  const since = args === null ? null : readSince(stringOption(args, 'since'));
  let url: string | null;
  try {
    url = args === null ? null : readToolDatabaseUrl(stringOption(args, 'database-url'), env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`audit:export cannot run: ${error.problems.join('; ')}`);
    return EXIT_UNCHECKED;
  }
  if (args === null || args.positionals.length > 0 || since === null || url === null) {
    if (args !== null && since === null) io.err(`--since must be a whole number, the seq after which to export (e.g. --since 1234), not ${JSON.stringify(stringOption(args, 'since'))}`);
    io.err(USAGE);
    return EXIT_UNCHECKED;
  }
  return exportTrail(url, since, stringOption(args, 'out'), io, output);
}

/** The seq to export after: 0 (everything) when absent; null when it is not a whole number. */
function readSince(raw: string | undefined): number | null {
  if (raw === undefined) return 0;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

async function exportTrail(url: string, since: number, out: string | undefined, io: CliIo, output: Writable): Promise<number> {
  let sink: LineSink;
  try {
    sink = out === undefined ? streamSink(output) : await fileSink(out);
  } catch (error) {
    io.err(`audit:export cannot write ${out}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists; give a new name (an archive is never overwritten)' : (error as Error).message}`);
    return EXIT_UNCHECKED;
  }
  const client = await connectToolDatabase(url).catch((error: unknown) => error as Error);
  try {
    if (client instanceof Error) throw client;
    await checkSchemaVersion(client);
    const summary = await inSnapshot(client, () => copyRows(client, since, sink));
    await sink.finish();
    io.err(describeExport(summary, url, since, out));
    return EXIT_INTACT;
  } catch (error) {
    // A cut-short export would be a shorter chain that still verifies: it must not be left behind.
    await sink.discard();
    io.err(`audit:export failed, nothing was kept: ${describeToolError(error, url)}`);
    return EXIT_UNCHECKED;
  } finally {
    if (!(client instanceof Error)) await client.end().catch(() => undefined);
  }
}

const CHUNK_BYTES = 1024 * 1024;

async function copyRows(client: Parameters<typeof readChainHeadRow>[0], since: number, sink: LineSink): Promise<ExportSummary> {
  const head = await readChainHeadRow(client);
  const summary: ExportSummary = { records: 0, first: null, last: null, head };
  let pending: Buffer[] = [];
  let size = 0;
  for await (const row of trailRows<{ seq: string; line: string }>(client, 'seq, line', since)) {
    const bytes = Buffer.from(`${row.line}\n`, 'utf8');
    pending.push(bytes);
    size += bytes.length;
    summary.records += 1;
    summary.first ??= Number(row.seq);
    summary.last = Number(row.seq);
    if (size >= CHUNK_BYTES) {
      await sink.write(Buffer.concat(pending));
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) await sink.write(Buffer.concat(pending));
  return summary;
}

function describeExport({ records, first, last, head }: ExportSummary, url: string, since: number, out: string | undefined): string {
  const what = records === 0 ? `no records after seq ${since}` : `${records} records (seq ${first}..${last})`;
  const verify = since === 0 ? 'npm run audit:verify --' : 'npm run audit:verify -- --partial';
  const next = records === 0 || out === undefined ? '' : `; verify it with: ${verify} ${out}`;
  return `exported ${what} from ${databaseLabel(url)}; chain head seq ${head.seq} hash ${head.hash}${next}`;
}

/** A new file, 0600 whatever the umask, fsynced with its directory when the export is complete. */
async function fileSink(path: string): Promise<LineSink> {
  const handle = await open(path, 'wx', PRIVATE_FILE_MODE);
  await handle.chmod(PRIVATE_FILE_MODE);
  let closed = false;
  const close = async () => {
    if (!closed) await handle.close();
    closed = true;
  };
  return {
    write: (chunk) => writeAll(handle, chunk),
    async finish() {
      await handle.sync();
      await close();
      await syncDirectory(nodeFileSystem, dirname(path));
    },
    async discard() {
      await close().catch(() => undefined);
      await rm(path, { force: true });
    },
  };
}

/** stdout (or another stream), honouring backpressure so memory stays at one chunk. */
function streamSink(stream: Writable): LineSink {
  return {
    write: (chunk) => new Promise((resolve, reject) => void stream.write(chunk, (error) => (error ? reject(error) : resolve()))),
    finish: () => Promise.resolve(),
    discard: () => Promise.resolve(),
  };
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runExportCli(process.argv.slice(2), undefined, processIo);
}
