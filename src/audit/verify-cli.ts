import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config/config.js';
import { loadAuditVerifyConfig, readToolDatabaseUrl, type AuditVerifyEnv } from '../config/audit-verify-config.js';
import { loadPublicKey, type Checkpoint } from './checkpoints/checkpoint.js';
import { readLastCheckpoint } from './checkpoints/checkpoint-file.js';
import { describeTrailFileError, EXIT_BROKEN, EXIT_UNCHECKED, isEntryPoint, parseCliArgs, processIo, stringOption, type CliIo, type ParsedArgs } from './cli.js';
import { databaseLabel } from './postgres/connection.js';
import { connectToolDatabase, describeToolError } from './postgres/tool-database.js';
import { verifyDatabaseTrail, type HashAt } from './postgres/verify-database.js';
import { checkpointFinding, report, type Finding } from './verify-report.js';
import { verifyAuditFile, type VerifyResult } from './verify.js';

export type { CliIo } from './cli.js';

/**
 * `npm run audit:verify -- <file>` or `-- --database-url <url>`: exit 0 when the trail is intact,
 * 1 when it is broken, 2 when it could not be checked (usage, configuration, an unreadable file,
 * an unreachable database), so a scheduled job can tell tampering from a mistake in the job itself.
 */

const USAGE = [
  'usage: npm run audit:verify -- <audit-file> [--partial] [--checkpoint <file> --public-key <pem-file>]',
  '       npm run audit:verify -- [--database-url <url>] [--checkpoint <file>] [--public-key <pem-file>]',
  'With neither a file nor --database-url, the trail is the database at DATABASE_URL.',
  '--partial          the file is an export with --since: its first record may be above seq 1 and its prevHash is taken on trust',
  '--checkpoint, --public-key  the trail must reach the checkpoint (the last line of the file) with its hash, signed by that',
  '                   Ed25519 key (SPKI or private PEM); for the database, --public-key alone takes the newest checkpoint',
  '                   in keydesk.audit_checkpoints',
  'Set AUDIT_HMAC_KEY to the key KeyDesk writes with when the trail is HMAC-chained.',
  'Exit 0 intact, 1 broken, 2 could not check.',
].join('\n');

const OPTIONS = {
  'database-url': { type: 'string' },
  partial: { type: 'boolean' },
  checkpoint: { type: 'string' },
  'public-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Target = { kind: 'file'; path: string; partial: boolean } | { kind: 'database'; url: string };

/** What to compare the trail with: a checkpoint from a file, or (database only) the newest stored one. */
interface CheckpointInput {
  publicKey: KeyObject;
  /** Null: the newest row of keydesk.audit_checkpoints. */
  checkpoint: Checkpoint | null;
}

/** Thrown for what makes the check impossible; its message is the one line to print. */
class Unchecked extends Error {}

/** `env` undefined means the process environment, which only config/ reads. */
export async function runVerifyCli(argv: readonly string[], env: AuditVerifyEnv | undefined, io: CliIo): Promise<number> {
  const args = parseCliArgs(argv, OPTIONS);
  if (args?.values.help === true) {
    io.out(USAGE);
    return 0;
  }
  try {
    const target = args === null ? null : chooseTarget(args, env);
    if (args === null || target === null || !checkpointOptionsFit(args, target)) {
      io.err(USAGE);
      return EXIT_UNCHECKED;
    }
    const { hmacKey } = loadAuditVerifyConfig(env);
    const checkpoint = await loadCheckpointInput(args);
    return target.kind === 'file' ? await verifyFileTarget(target, hmacKey, checkpoint, io) : await verifyDatabaseTarget(target.url, hmacKey, checkpoint, io);
  } catch (error) {
    if (error instanceof ConfigError) io.err(`audit:verify cannot run: ${error.problems.join('; ')}`);
    else if (error instanceof Unchecked) io.err(error.message);
    else throw error;
    return EXIT_UNCHECKED;
  }
}

/** The file given, else the database; null for a usage mistake. */
function chooseTarget(args: ParsedArgs, env: AuditVerifyEnv | undefined): Target | null {
  const { positionals } = args;
  const flag = stringOption(args, 'database-url');
  const partial = args.values.partial === true;
  if (positionals.length > 1 || (positionals.length === 1 && (flag !== undefined || positionals[0] === ''))) return null;
  if (positionals.length === 1) return { kind: 'file', path: positionals[0]!, partial };
  const url = readToolDatabaseUrl(flag, env);
  // A database trail always begins at seq 1: --partial is for exported files.
  return url === null || partial ? null : { kind: 'database', url };
}

function checkpointOptionsFit(args: ParsedArgs, target: Target): boolean {
  const checkpoint = stringOption(args, 'checkpoint') !== undefined;
  const publicKey = stringOption(args, 'public-key') !== undefined;
  return checkpoint ? publicKey : !publicKey || target.kind === 'database';
}

async function loadCheckpointInput(args: ParsedArgs): Promise<CheckpointInput | null> {
  const keyPath = stringOption(args, 'public-key');
  if (keyPath === undefined) return null;
  let publicKey: KeyObject;
  try {
    publicKey = loadPublicKey(await readFile(keyPath, 'utf8'));
  } catch (error) {
    throw new Unchecked(`cannot use the public key ${keyPath}: ${describeFileError(error)}`);
  }
  const checkpointPath = stringOption(args, 'checkpoint');
  if (checkpointPath === undefined) return { publicKey, checkpoint: null };
  let checkpoint: Checkpoint | null;
  try {
    checkpoint = await readLastCheckpoint(checkpointPath);
  } catch (error) {
    throw new Unchecked(`cannot read the checkpoint ${checkpointPath}: ${describeFileError(error)}`);
  }
  if (checkpoint === null) throw new Unchecked(`the checkpoint file ${checkpointPath} is missing or empty`);
  return { publicKey, checkpoint };
}

async function verifyFileTarget(target: Extract<Target, { kind: 'file' }>, hmacKey: Buffer | null, input: CheckpointInput | null, io: CliIo): Promise<number> {
  const wanted = input?.checkpoint?.seq;
  let hashAtCheckpoint: string | undefined;
  let result: VerifyResult;
  try {
    result = await verifyAuditFile(target.path, hmacKey, {
      partial: target.partial,
      onRecord: ({ link }) => {
        if (link.seq === wanted) hashAtCheckpoint = link.hash;
      },
    });
  } catch (error) {
    throw new Unchecked(describeTrailFileError(target.path, error));
  }
  const findings: Finding[] = [];
  if (result.ok && input?.checkpoint) {
    // The trail verified and holds the checkpoint's seq whenever the check asks for a hash other than its head's.
    const hashAt = () => Promise.resolve(hashAtCheckpoint!);
    const finding = await checkpointFinding({ checkpoint: input.checkpoint, publicKey: input.publicKey, result, partial: target.partial, hashAt });
    if (finding !== null) findings.push(finding);
  }
  return report({ source: 'file', result, partial: target.partial, findings, checkpoint: input?.checkpoint ?? null }, io);
}

async function verifyDatabaseTarget(url: string, hmacKey: Buffer | null, input: CheckpointInput | null, io: CliIo): Promise<number> {
  let client;
  try {
    client = await connectToolDatabase(url);
    const { result, headProblem, afterwards } = await verifyDatabaseTrail(client, {
      hmacKey,
      readStoredCheckpoint: input !== null && input.checkpoint === null,
      afterwards: (verified, stored, hashAt) => databaseCheckpointCheck(input, verified, input?.checkpoint ?? stored, hashAt),
    });
    const findings: Finding[] = [];
    if (headProblem !== null) findings.push({ exit: EXIT_BROKEN, reason: headProblem });
    if (afterwards?.finding) findings.push(afterwards.finding);
    const note = `database ${databaseLabel(url)}: the chain_head row agrees`;
    return report({ source: 'database', result, partial: false, findings, checkpoint: afterwards?.checkpoint ?? null, note }, io);
  } catch (error) {
    throw new Unchecked(describeToolError(error, url));
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** The checkpoint the database trail is compared with (null when none was asked for) and how that went. */
async function databaseCheckpointCheck(
  input: CheckpointInput | null,
  result: VerifyResult,
  checkpoint: Checkpoint | null,
  hashAt: HashAt,
): Promise<{ checkpoint: Checkpoint | null; finding: Finding | null }> {
  if (input === null || !result.ok) return { checkpoint: null, finding: null };
  if (checkpoint === null) {
    return { checkpoint, finding: { exit: EXIT_UNCHECKED, reason: 'keydesk.audit_checkpoints holds no checkpoint yet: give one with --checkpoint' } };
  }
  return { checkpoint, finding: await checkpointFinding({ checkpoint, publicKey: input.publicKey, result, partial: false, hashAt }) };
}

function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder, not a file';
  return error instanceof Error ? error.message : String(error);
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runVerifyCli(process.argv.slice(2), undefined, processIo);
}
