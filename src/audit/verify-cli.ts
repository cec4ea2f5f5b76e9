import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/config.js';
import { loadAuditVerifyConfig, type AuditVerifyEnv } from '../config/audit-verify-config.js';
import { verifyAuditFile, type VerifyResult } from './verify.js';

/**
 * `npm run audit:verify -- <file>`: exit 0 when the trail is intact, 1 when it is broken,
 * 2 when it could not be checked (usage, configuration, unreadable file), so a scheduled job
 * can tell tampering from a mistake in the job itself.
 */

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = [
  'usage: npm run audit:verify -- <audit-file>',
  'Set AUDIT_HMAC_KEY to the key KeyDesk writes with when the trail is HMAC-chained.',
].join('\n');

/** `env` undefined means the process environment, which only config/ reads. */
export async function runVerifyCli(argv: readonly string[], env: AuditVerifyEnv | undefined, io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  const [file, ...extra] = argv;
  if (file === undefined || file === '' || extra.length > 0 || file.startsWith('-')) {
    io.err(USAGE);
    return 2;
  }
  let hmacKey: Buffer | null;
  try {
    ({ hmacKey } = loadAuditVerifyConfig(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`audit:verify cannot run: ${error.problems.join('; ')}`);
    return 2;
  }
  let result: VerifyResult;
  try {
    result = await verifyAuditFile(file, hmacKey);
  } catch (error) {
    io.err(describeReadError(file, error));
    return 2;
  }
  return report(result, io);
}

function report(result: VerifyResult, io: CliIo): number {
  if (result.ok) {
    io.out(`audit trail intact: ${result.records} records, head seq ${result.head.seq} hash ${result.head.hash}`);
    return 0;
  }
  const { line, seq, reason } = result.firstBroken;
  io.err(`audit trail BROKEN at line ${line} (seq ${seq ?? 'unknown'}): ${reason}`);
  return 1;
}

function describeReadError(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return `audit file not found: ${file}`;
  if (code === 'EISDIR') return `not a file: ${file}; give the path of the audit file itself`;
  return `cannot read audit file ${file}: ${error instanceof Error ? error.message : String(error)}`;
}

/** True when this module is the process entry point rather than imported (e.g. by tests). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const io: CliIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  process.exitCode = await runVerifyCli(process.argv.slice(2), undefined, io);
}
