import { expect } from 'vitest';

/** One sample of a Prometheus text exposition: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format (0.0.4) as a scraper reads it: comments skipped, labels unescaped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = value!.replace(/\\(.)/g, (_all, character: string) => (character === 'n' ? '\n' : character));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** No label value names a person, a device or anything by its GUID. */
export function expectNoIdentifyingLabels(samples: Sample[], forbidden: string[]): void {
  const values = [...new Set(samples.flatMap((sample) => Object.values(sample.labels)))];
  for (const value of values) {
    expect(value).not.toMatch(GUID);
    expect(value).not.toContain('@');
    for (const word of forbidden) expect(value.toLowerCase()).not.toContain(word.toLowerCase());
  }
}

/** GETs a metrics URL and parses the answer, which must be 200 in the text format. */
export async function scrape(url: string, token?: string): Promise<Sample[]> {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(text);
}

export const METRICS_TOKEN = 'metrics-test-token-0123456789abcdefghijklmnop';
