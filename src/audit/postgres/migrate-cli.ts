import { runMigrateCli } from './migrate-command.js';

/** The `npm run db:migrate` entry point (see migrate-command.ts). */
process.exitCode = await runMigrateCli(process.argv.slice(2), undefined, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
