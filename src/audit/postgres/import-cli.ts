import type pg from 'pg';
import { ConfigError } from '../../config/config.js';
import { loadAuditVerifyConfig, readToolDatabaseUrl, type AuditVerifyEnv } from '../../config/audit-verify-config.js';
import type { ChainHead } from '../chain.js';
import { describeTrailFileError, EXIT_INTACT, EXIT_UNCHECKED, isEntryPoint, parseCliArgs, processIo, stringOption, type CliIo } from '../cli.js';
import type { AuditRecord } from '../types.js';
import { report } from '../verify-report.js';
import { verifyAuditFile, type VerifyResult } from '../verify.js';
import { describeHolder, liveLockHolder } from '../file/file-lock.js';
import { insertRecordsSql, recordParameters, recordRow, type RecordRow } from './records.js';
import { databaseLabel } from './connection.js';
import { checkSchemaVersion, connectToolDatabase, describeToolError, readChainHeadRow, ToolDatabaseError } from './tool-database.js';

/**
 * `npm run audit:import -- <file> [--database-url <url>]`: moves a file trail into an empty,
 * migrated database, so KeyDesk with AUDIT_STORE=postgres continues the chain from the file's
 * head. The file is verified as it is copied, in one transaction: the database ends up with the
 * whole verified trail or nothing. Exit 0 imported, 1 the file trail is broken, 2 not imported (including an HMAC-chained
 * file and no AUDIT_HMAC_KEY).
 */

const USAGE = [
  'usage: npm run audit:import -- <audit-file> [--database-url <url>]',
  'Verifies a file trail (as audit:verify does) and moves it, in one transaction, into an empty database migrated',
  'with `npm run db:migrate`; KeyDesk with AUDIT_STORE=postgres then continues the chain from its head.',
  'Without --database-url, DATABASE_URL. Set AUDIT_HMAC_KEY to the key KeyDesk writes with when the trail is HMAC-chained.',
  'A file a running KeyDesk still holds (its <file>.lock live) is refused: stop that KeyDesk first.',
  'Exit 0 imported, 1 the file trail is broken (nothing imported), 2 not imported (usage, configuration, the file, the database).',
].join('\n');

const OPTIONS = {
  'database-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Rows per INSERT: 20 columns each stays far below PostgreSQL's 65,535 parameters. */
const BATCH_ROWS = 500;

/** The file could not be read: nothing was imported, and it says why. */
class FileUnreadable extends Error {}

/** A KeyDesk still writes the file: nothing was imported, and it says which. */
class FileInUse extends Error {}

/** `env` undefined means the process environment, which only config/ reads. */
export async function runImportCli(argv: readonly string[], env: AuditVerifyEnv | undefined, io: CliIo): Promise<number> {
  const args = parseCliArgs(argv, OPTIONS);
  if (args?.values.help === true) {
    io.out(USAGE);
    return EXIT_INTACT;
  }
  let url: string | null = null;
  let hmacKey: Buffer | null = null;
  try {
    ({ hmacKey } = loadAuditVerifyConfig(env));
    url = args === null ? null : readToolDatabaseUrl(stringOption(args, 'database-url'), env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`audit:import cannot run: ${error.problems.join('; ')}`);
    return EXIT_UNCHECKED;
  }
  const file = args?.positionals.length === 1 ? args.positionals[0] : undefined;
  if (file === undefined || file === '' || url === null) {
    io.err(USAGE);
    return EXIT_UNCHECKED;
  }
  return importTrail(file, url, hmacKey, io);
}

async function importTrail(file: string, url: string, hmacKey: Buffer | null, io: CliIo): Promise<number> {
  let client: pg.Client | undefined;
  try {
    await refuseWhileWritten(file);
    client = await connectToolDatabase(url);
    await checkSchemaVersion(client);
    const result = await copyInOneTransaction(client, file, hmacKey);
    if (!result.ok) {
      const exit = report({ source: 'file', result, partial: false, findings: [], checkpoint: null }, io);
      io.err('nothing was imported');
      return exit;
    }
    const { records, head } = result;
    if (records === 0) {
      io.out(`${file} holds no records: nothing to import, the database stays empty`);
      return EXIT_INTACT;
    }
    io.out(`imported ${records} records from ${file} into ${databaseLabel(url)}; chain head seq ${head.seq} hash ${head.hash}: KeyDesk continues the chain from there`);
    return EXIT_INTACT;
  } catch (error) {
    const reason = error instanceof FileUnreadable || error instanceof FileInUse ? error.message : describeToolError(error, url);
    io.err(`audit:import failed, nothing was imported: ${reason}`);
    return EXIT_UNCHECKED;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** Verifies and inserts in one pass; commits only a whole intact trail, and moves the chain head to its end. */
async function copyInOneTransaction(client: pg.Client, file: string, hmacKey: Buffer | null): Promise<VerifyResult> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL synchronous_commit = on');
    // FOR UPDATE: a KeyDesk appending meanwhile waits for this transaction, then sees the imported head.
    await refuseNonEmpty(client, await readChainHeadRow(client, true));
    const batch: RecordRow[] = [];
    const flush = async () => {
      if (batch.length > 0) await client.query(insertRecordsSql(batch.length), recordParameters(batch.splice(0)));
    };
    const result = await verifyAuditFile(file, hmacKey, {
      onRecord: async ({ bytes, record }) => {
        batch.push(recordRow(record as unknown as AuditRecord, bytes.toString('utf8')));
        if (batch.length >= BATCH_ROWS) await flush();
      },
    }).catch((error: unknown) => {
      throw error instanceof Error && 'syscall' in error ? new FileUnreadable(describeTrailFileError(file, error)) : error;
    });
    if (!result.ok || result.records === 0) {
      await client.query('ROLLBACK');
      return result;
    }
    await flush();
    // Again at the end: a KeyDesk that started on the file meanwhile may have written past what was read.
    await refuseWhileWritten(file);
    await client.query('UPDATE keydesk.chain_head SET seq = $1, hash = $2', [result.head.seq, result.head.hash]);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * A file a running KeyDesk holds (its `<file>.lock` live, as file-lock.ts judges it) is still
 * growing: records written after the import would never reach the database.
 */
async function refuseWhileWritten(file: string): Promise<void> {
  const live = await liveLockHolder(file).catch((error: unknown) => {
    throw new FileUnreadable(`cannot read the lock of ${file}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (live === null) return;
  throw new FileInUse(
    `${file} is still held by a running KeyDesk: its lock ${live.path} is held by ${describeHolder(live.holder)}. ` +
      'Stop that KeyDesk first (records it writes after the import would never reach the database), then run audit:import again.',
  );
}

async function refuseNonEmpty(client: pg.Client, head: ChainHead): Promise<void> {
  const { rows } = await client.query<{ last: string | null }>('SELECT max(seq) AS last FROM keydesk.audit_records');
  const last = rows[0]?.last ?? null;
  if (head.seq === 0 && last === null) return;
  throw new ToolDatabaseError(
    `the database already holds an audit trail (head seq ${Math.max(head.seq, Number(last ?? 0))}): audit:import only moves a trail into an empty database; verify or export the one there with audit:verify / audit:export`,
  );
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runImportCli(process.argv.slice(2), undefined, processIo);
}
