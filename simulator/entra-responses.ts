import { randomUUID } from 'node:crypto';
import type { SimResponse } from './listener.js';
import type { SimulatorState } from './state.js';

/**
 * Answers in the simulated Entra's shapes: JSON with no-store caching, its HTML pages (no script
 * allowed by their CSP), redirects, and OAuth errors as Entra writes them: `error`, an
 * `AADSTS…: …` description with trace and correlation IDs, `error_codes`, `error_uri`.
 */

const JSON_TYPE = 'application/json; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';

/** An answer of the token endpoint, with what its log entry records of a refusal. */
export interface TokenOutcome {
  answer: SimResponse;
  error?: string;
  aadsts?: number;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store, no-cache', ...headers }, body: JSON.stringify(body) };
}

export function html(status: number, body: string, headers: Record<string, string | string[]> = {}): SimResponse {
  return {
    status,
    headers: {
      'content-type': HTML_TYPE,
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      ...headers,
    },
    body,
  };
}

export function redirect(location: string, headers: Record<string, string | string[]> = {}): SimResponse {
  return { status: 302, headers: { location, 'cache-control': 'no-store', ...headers }, body: '' };
}

/** `2026-11-25 10:00:00Z`, the way Entra writes timestamps in its error bodies. */
export function entraTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function entraError(
  state: Pick<SimulatorState, 'authorityHost' | 'now'>,
  status: number,
  error: string,
  aadsts: number,
  description: string,
  correlationId: string,
): TokenOutcome {
  const now = state.now();
  const traceId = randomUUID();
  return {
    answer: json(status, {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${entraTimestamp(now)}`,
      error_codes: [aadsts],
      timestamp: entraTimestamp(now),
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${state.authorityHost}/error?code=${aadsts}`,
    }),
    error,
    aadsts,
  };
}
