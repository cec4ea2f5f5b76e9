import type { Json } from './graph-resources.js';
import { isoSeconds, type SimRequestLogEntry } from './state.js';

/**
 * One Graph request and its answer as the simulated Graph handles them, whether it came over
 * HTTP or inside a $batch, and Graph's error body: `{ error: { code, message, innerError: { date,
 * request-id, client-request-id } } }`.
 */

export const GRAPH_JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export interface GraphRequest {
  method: string;
  /** Decoded path, starting with /v1.0 (or /oidc). */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  userAgent: string | null;
  clientRequestId: string | null;
  clientName: string | null;
  body: string | null;
  inBatch: boolean;
}

export interface GraphAnswer {
  status: number;
  headers: Record<string, string>;
  body: Json | null;
}

export interface Ids {
  requestId: string;
  clientRequestId: string;
}

export class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorAnswer(now: number, failure: { status: number; code: string; message: string; headers?: Record<string, string> }, ids: Ids): GraphAnswer {
  return {
    status: failure.status,
    headers: { ...(failure.headers ?? {}) },
    body: {
      error: {
        code: failure.code,
        message: failure.message,
        innerError: { date: isoSeconds(now).slice(0, -1), 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId },
      },
    },
  };
}

export function logEntry(request: GraphRequest, ids: Ids, time: number): SimRequestLogEntry {
  return {
    time,
    method: request.method,
    path: request.path,
    query: Object.fromEntries(request.query),
    status: 0,
    requestId: ids.requestId,
    clientRequestId: request.clientRequestId,
    userAgent: request.userAgent,
    clientName: request.clientName,
    appId: null,
  };
}
