import { mkdirSync, rmSync } from 'node:fs';
import { ARTIFACTS_DIR, scanForRecoveryPasswords } from './helpers/secret-scan.js';

/** Clears the artefacts before the run; after it, fails the run if any holds a recovery password. */
export default function setup(): () => void {
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return () => {
    const findings = scanForRecoveryPasswords(ARTIFACTS_DIR);
    if (findings.length > 0) {
      process.exitCode = 1;
      throw new Error(
        `A recovery password leaked outside its disclosure response (logs, audit files or other responses):\n` +
          findings.map((f) => `  ${f.file}:${f.line}`).join('\n'),
      );
    }
    console.log(`secret scan: no recovery password in ${ARTIFACTS_DIR} (logs, audit files, responses)`);
  };
}
