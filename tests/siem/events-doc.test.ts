import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OCSF_ACTIVITIES, OCSF_CLASSES, toOcsf } from '../../src/siem/ocsf.js';
import { DOCUMENTED_PRODUCT_VERSION, DOCUMENTED_TENANT, FIXTURES, type FixtureName } from './fixtures.js';

/** docs/events.md is what a SIEM team builds its parsers and rules on: it must say what KeyDesk sends. */

const DOC = readFileSync(fileURLToPath(new URL('../../docs/events.md', import.meta.url)), 'utf8');

function documentedExamples(): Map<string, unknown> {
  const examples = new Map<string, unknown>();
  for (const match of DOC.matchAll(/<!-- ocsf-example: (\w+) -->\n```json\n([\s\S]*?)\n```/g)) examples.set(match[1]!, JSON.parse(match[2]!));
  return examples;
}

function section(heading: string): string {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/events.md has a "## ${heading}" section`).toBeGreaterThan(-1);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end === -1 ? undefined : end);
}

/** Every leaf of an event as a dotted path (`resources[].uid`); free-form objects stop at their own name. */
function fieldPaths(value: unknown, path = ''): string[] {
  if (path === 'unmapped.details' || path === 'unmapped.checks') return [path];
  if (Array.isArray(value)) return value.flatMap((item) => fieldPaths(item, `${path}[]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([name, member]) => fieldPaths(member, path === '' ? name : `${path}.${name}`));
  return [path];
}

const mapped = (name: FixtureName) => toOcsf(FIXTURES[name], { productVersion: DOCUMENTED_PRODUCT_VERSION, tenantUid: DOCUMENTED_TENANT });

describe('docs/events.md', () => {
  it('shows, for every example record, exactly the event the mapper makes of it', () => {
    const examples = documentedExamples();
    expect([...examples.keys()].sort()).toEqual(Object.keys(FIXTURES).sort());
    for (const name of Object.keys(FIXTURES) as FixtureName[]) expect(examples.get(name), `the ${name} example`).toEqual(JSON.parse(JSON.stringify(mapped(name))));
  });

  it('has an example of every event type', () => {
    const types = new Set(Object.keys(FIXTURES).map((name) => FIXTURES[name as FixtureName].action));
    expect([...types].sort()).toEqual(Object.keys(OCSF_ACTIVITIES).sort());
  });

  it('describes every field the examples hold', () => {
    const fields = section('Fields');
    const paths = new Set(Object.keys(FIXTURES).flatMap((name) => fieldPaths(mapped(name as FixtureName))));
    const undocumented = [...paths].filter((path) => !new RegExp(`^\\|[^\\n]*\`${path.replace(/[.[\]]/g, '\\$&')}\``, 'm').test(fields));
    expect(undocumented).toEqual([]);
  });

  it('gives every event type its class, activity and type_uid as the mapper does', () => {
    const table = section('Event types and their OCSF classes');
    for (const [action, activity] of Object.entries(OCSF_ACTIVITIES)) {
      const ocsfClass = OCSF_CLASSES[activity.class];
      const row = table.split('\n').find((line) => line.startsWith(`| \`${action}\` |`));
      expect(row, `a row for ${action}`).toBeDefined();
      expect(row).toContain(`| ${ocsfClass.class_name} (${ocsfClass.class_uid}) | ${activity.activity_name} (${activity.activity_id}) | ${ocsfClass.class_uid * 100 + activity.activity_id} |`);
    }
  });

  it('joins KeyDesk\'s events with Entra\'s "Read BitLocker key" in KQL and in SPL, on the key ID', () => {
    const joining = section('Was every read of a key ours? Joining with Entra\'s "Read BitLocker key"');
    const kql = /```kql\n([\s\S]*?)```/.exec(joining)?.[1] ?? '';
    const spl = /```spl\n([\s\S]*?)```/.exec(joining)?.[1] ?? '';
    expect(kql).toContain('OperationName == "Read BitLocker key"');
    expect(kql).toMatch(/join kind=leftouter keydesk on KeyId/);
    expect(kql).toContain('e.entity.uid');
    expect(spl).toContain('activityDisplayName="Read BitLocker key"');
    expect(spl).toMatch(/join type=left max=0 key_id/);
    expect(spl).toContain("'entity.uid'");
  });
});
