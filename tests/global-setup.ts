import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureSimulatorCertificates } from '../simulator/index.js';
import { ARTIFACTS_DIR, scanForRecoveryPasswords } from './helpers/secret-scan.js';

const ROOT = join(import.meta.dirname, '..');

/** Where the integration tests' simulated tenant keeps its CA (made once per run, below). */
export const SIMULATOR_DIR = join(ARTIFACTS_DIR, 'simulator');

/**
 * Before the run: clears the artefacts, compiles, and makes the simulated tenant's CA and trusts it in the
 * test workers (Node reads NODE_EXTRA_CA_CERTS only at start, and the workers start after this).
 * After the run: fails it if any artefact holds a recovery password.
 */
export default async function setup(): Promise<() => void> {
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  // Tests that run the compiled entry points (npm start, the demo) run what this tree builds.
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  const certificates = await ensureSimulatorCertificates(SIMULATOR_DIR);
  process.env.NODE_EXTRA_CA_CERTS = certificates.caBundlePath;

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
