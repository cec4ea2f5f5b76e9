// A process that tries once to lock an audit file at an agreed moment, for the lock's race tests:
// node file-lock-racer.mjs <audit file> <start at, epoch ms>. Prints "won" (then holds the lock
// until its stdin closes) or "locked".
import { lockAuditFile } from '../../dist/src/audit/file/file-lock.js';

const [file, startAt] = process.argv.slice(2);
const quiet = { info() {}, warn() {}, error() {} };
while (Date.now() < Number(startAt)) {
  // Spin rather than sleep, so that every racer tries within the same millisecond or two.
}
try {
  const lock = await lockAuditFile({ file, waitSeconds: 0, logger: quiet, onLost() {} });
  process.stdout.write('won\n');
  process.stdin.resume();
  process.stdin.on('end', () => void lock.release().then(() => process.exit(0)));
} catch (error) {
  process.stdout.write(error.name === 'AuditFileLockedError' ? 'locked\n' : `failed: ${error.message}\n`);
  process.exit(0);
}
