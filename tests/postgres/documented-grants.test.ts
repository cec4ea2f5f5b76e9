import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';

/**
 * The README's list of the runtime role's GRANTs is what an operator who grants by hand copies:
 * one missing (the outbox, say, which append_records inserts into) makes every append fail. It
 * must be the list `db:migrate -- --grant` runs, statement for statement.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const statements = (sql: string) =>
  [...new Set(sql.split('\n').map((line) => line.trim().replace(/"keydesk_app"/g, 'keydesk_app')).filter((line) => line.startsWith('GRANT ')))].sort();

function readmeGrants(): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const start = readme.indexOf('GRANT USAGE ON SCHEMA keydesk TO keydesk_app;');
  expect(start).toBeGreaterThan(0);
  return readme.slice(start, readme.indexOf('```', start));
}

describe("the runtime role's GRANTs in the README", () => {
  it('are exactly those db:migrate -- --grant runs', () => {
    expect(statements(readmeGrants())).toEqual(statements(runtimeGrants('keydesk_app')));
  });
});
