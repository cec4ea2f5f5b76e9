import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * What the audit command-line tools (`audit:verify`, `audit:export`, `audit:import`) share: their
 * exit codes, their output, their argument parsing and how they tell they were run.
 */

/** 0 intact (or done), 1 broken, 2 could not check: a scheduled job can tell tampering from a mistake in the job itself. */
export const EXIT_INTACT = 0;
export const EXIT_BROKEN = 1;
export const EXIT_UNCHECKED = 2;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export type CliOptions = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** The arguments by `options`; null for an unknown option, a missing value or a misspelling. */
export function parseCliArgs(argv: readonly string[], options: CliOptions): ParsedArgs | null {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch {
    return null;
  }
}

/** A string option's value, or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** True when the module at `moduleUrl` is the process entry point rather than imported (e.g. by tests). */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

/** Why an audit file could not be read, naming it. */
export function describeTrailFileError(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return `audit file not found: ${file}`;
  if (code === 'EISDIR') return `not a file: ${file}; give the path of the audit file itself`;
  return `cannot read audit file ${file}: ${error instanceof Error ? error.message : String(error)}`;
}
