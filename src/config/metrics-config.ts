import type { EnvReader } from './config.js';

/**
 * Prometheus metrics (src/metrics/): `/metrics` on the main port answers only a scraper that
 * presents METRICS_TOKEN, and is 404 like any unknown path while the token is unset; METRICS_PORT
 * serves the same text without a token on METRICS_HOST (loopback by default), for a scraper on the
 * host or in the pod, summed over the WORKERS processes.
 */

export interface MetricsConfig {
  /** The bearer token `/metrics` on the main port requires; null: the route does not exist. */
  token: string | null;
  /** The token-free metrics listener; null when METRICS_PORT is unset. */
  listener: { host: string; port: number } | null;
}

export const TOKEN_HOW = 'use at least 32 random characters, e.g. the output of `openssl rand -base64 48`, and give the same value to the scraper as its bearer token';

export function readMetricsConfig(reader: EnvReader, mainPort: number): MetricsConfig {
  const token = reader.text('METRICS_TOKEN') ?? null;
  if (token !== null && !/^[\x21-\x7e]+$/.test(token)) reader.problem(`METRICS_TOKEN has spaces or characters outside printable ASCII: ${TOKEN_HOW}`);
  const host = reader.text('METRICS_HOST') ?? '127.0.0.1';
  const port = reader.integer('METRICS_PORT', 0, 1, 65535, 'set the TCP port of the token-free metrics listener, or leave it unset to turn it off');
  if (port !== 0 && port === mainPort) {
    reader.problem(`METRICS_PORT=${port} is PORT as well: give the token-free metrics listener a port of its own (e.g. 9464), or unset METRICS_PORT and scrape /metrics with METRICS_TOKEN`);
  }
  return { token, listener: port === 0 ? null : { host, port } };
}
