import { randomUUID } from 'node:crypto';
import type { Json } from './graph-resources.js';
import { GRAPH_JSON_TYPE, errorAnswer, logEntry, type GraphAnswer, type GraphRequest, type Ids } from './graph-wire.js';
import { record, type SimulatorState } from './state.js';

const MAX_BATCH = 20;

/** Sub-responses write header names as Graph does. */
const BATCH_HEADER_NAMES: Record<string, string> = { 'content-type': 'Content-Type', 'retry-after': 'Retry-After', 'www-authenticate': 'WWW-Authenticate' };

/**
 * `POST /v1.0/$batch`: up to 20 requests, each answered as if it came on its own (knobs,
 * authentication and permission included) with its own status and headers; `dependsOn` orders
 * them and turns a failed dependency into 424.
 */
export async function answerBatch(state: SimulatorState, envelope: GraphRequest, answerOne: (request: GraphRequest) => Promise<GraphAnswer>): Promise<GraphAnswer> {
  const time = state.now();
  const requestId = randomUUID();
  const ids: Ids = { requestId, clientRequestId: envelope.clientRequestId ?? requestId };
  const entry = logEntry(envelope, ids, time);
  const fail = (message: string): GraphAnswer => errorAnswer(state.now(), { status: 400, code: 'BadRequest', message }, ids);
  let answer: GraphAnswer;
  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope.body ?? '');
  } catch {
    parsed = null;
  }
  const requests = typeof parsed === 'object' && parsed !== null ? (parsed as { requests?: unknown }).requests : undefined;
  if (!Array.isArray(requests) || requests.length === 0) {
    answer = fail('Invalid batch payload format.');
  } else if (requests.length > MAX_BATCH) {
    answer = fail(`The number of requests in the batch exceeds the limit of ${MAX_BATCH}.`);
  } else {
    const subRequests: Array<{ id: string; method: string; url: string; headers: Record<string, string>; body: unknown; dependsOn: string[] }> = [];
    let problem: string | null = null;
    for (const item of requests as unknown[]) {
      const r = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      if (typeof r.id !== 'string' || r.id === '' || typeof r.method !== 'string' || typeof r.url !== 'string') {
        problem = 'Invalid batch payload format.';
        break;
      }
      if (subRequests.some((s) => s.id === r.id)) {
        problem = `Batch request id '${r.id}' is not unique.`;
        break;
      }
      const headers: Record<string, string> = {};
      if (typeof r.headers === 'object' && r.headers !== null) {
        for (const [name, value] of Object.entries(r.headers)) if (typeof value === 'string') headers[name.toLowerCase()] = value;
      }
      const dependsOn = Array.isArray(r.dependsOn) ? r.dependsOn.filter((d): d is string => typeof d === 'string') : [];
      subRequests.push({ id: r.id, method: r.method.toUpperCase(), url: r.url, headers, body: r.body, dependsOn });
    }
    if (problem === null) {
      for (const sub of subRequests) {
        for (const dependency of sub.dependsOn) if (!subRequests.some((s) => s.id === dependency)) problem = `Request '${sub.id}' depends on '${dependency}', which is not in the batch.`;
      }
    }
    if (problem !== null) {
      answer = fail(problem);
    } else {
      const responses: Json[] = [];
      const outcomes = new Map<string, Promise<GraphAnswer>>();
      const run = async (sub: (typeof subRequests)[number]): Promise<GraphAnswer> => {
        for (const dependency of sub.dependsOn) {
          const before = await outcomes.get(dependency)!;
          if (before.status >= 400) return { status: 424, headers: {}, body: { error: { code: 'FailedDependency', message: `Request '${dependency}' it depends on failed.` } } };
        }
        if (/^[a-z][a-z0-9+.-]*:/i.test(sub.url) || /^\/?v1\.0\//i.test(sub.url) || /^\/?beta\//i.test(sub.url)) {
          return errorAnswer(state.now(), { status: 400, code: 'BadRequest', message: `Invalid request URL '${sub.url}': use a URL relative to the version, e.g. /devices.` }, ids);
        }
        const relative = sub.url.startsWith('/') ? sub.url : `/${sub.url}`;
        const q = relative.indexOf('?');
        let path: string;
        try {
          path = decodeURIComponent(`/v1.0${q === -1 ? relative : relative.slice(0, q)}`);
        } catch {
          return errorAnswer(state.now(), { status: 400, code: 'BadRequest', message: `Invalid request URL '${sub.url}'.` }, ids);
        }
        return answerOne({
          method: sub.method,
          path,
          query: new URLSearchParams(q === -1 ? '' : relative.slice(q + 1)),
          authorization: sub.headers.authorization ?? envelope.authorization,
          userAgent: sub.headers['user-agent'] ?? envelope.userAgent,
          clientRequestId: sub.headers['client-request-id'] ?? envelope.clientRequestId,
          clientName: sub.headers['ocp-client-name'] ?? envelope.clientName,
          body: sub.body === undefined ? null : JSON.stringify(sub.body),
          inBatch: true,
        });
      };
      for (const sub of subRequests) {
        const outcome = run(sub);
        outcomes.set(sub.id, outcome);
        // Graph lists the answers in whatever order they complete.
        void outcome.then((result) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(result.headers)) {
            const shown = BATCH_HEADER_NAMES[name];
            if (shown) headers[shown] = value;
          }
          headers['Content-Type'] ??= GRAPH_JSON_TYPE;
          responses.push({ id: sub.id, status: result.status, headers, body: result.body });
        });
      }
      await Promise.all(outcomes.values());
      await Promise.resolve();
      answer = { status: 200, headers: {}, body: { responses } };
      entry.batchSize = subRequests.length;
    }
  }
  answer.headers['content-type'] = GRAPH_JSON_TYPE;
  answer.headers['request-id'] = ids.requestId;
  answer.headers['client-request-id'] = ids.clientRequestId;
  entry.status = answer.status;
  state.counters.graphRoundTrips++;
  record(state.logs.graph, entry, state.logLimit);
  return answer;
}
