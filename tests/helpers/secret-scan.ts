import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The suite's safety net for the first non-negotiable: a recovery password may appear only in the
 * response that discloses it. Route tests write their real service log, their audit file and every
 * other response body under ARTIFACTS_DIR; this scan fails the run if any of them holds one.
 */

export const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', 'test-artifacts');

/** 8 groups of 6 digits, as Graph returns recovery passwords. */
export const RECOVERY_PASSWORD_PATTERN = /\d{6}(?:-\d{6}){7}/;

export interface SecretFinding {
  file: string;
  line: number;
}

export function scanForRecoveryPasswords(dir: string): SecretFinding[] {
  if (!existsSync(dir)) return [];
  const findings: SecretFinding[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry));
      return;
    }
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((text, index) => {
        if (RECOVERY_PASSWORD_PATTERN.test(text)) findings.push({ file: relative(dir, path), line: index + 1 });
      });
  };
  walk(dir);
  return findings;
}
