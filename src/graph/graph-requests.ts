import { randomUUID } from 'node:crypto';
import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import { KeyDeskProblem } from '../problem/problem.js';
import { isObject, type Json } from './graph-answers.js';
import { GraphCall } from './graph-call.js';
import type { GraphBudget } from './request-budget.js';

/**
 * One logical Graph request at a time (retries included, in the middleware), its answer read as
 * JSON, and the problems KeyDesk raises for an answer it cannot use. Only Graph's error code and
 * request-id ever reach a problem: messages and bodies stay out.
 */

/** A Graph operation, in words a problem can quote. */
export interface Operation {
  name: string;
  /** "KeyDesk could not …" */
  what: string;
  permission: string;
}

export interface GraphAnswer {
  status: number;
  body: Json | null;
  requestId: string | null;
}

const GRAPH_ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

export class GraphRequests {
  readonly #client: Client;
  readonly #versionRoot: string;
  readonly #pace: (() => Promise<void>) | null;

  /** `pace`, when given, is awaited before each logical request (a client-side rate limit). */
  constructor(client: Client, graphBaseUrl: string, pace: (() => Promise<void>) | null = null) {
    this.#client = client;
    this.#versionRoot = `${graphBaseUrl}/v1.0/`;
    this.#pace = pace;
  }

  /** One logical GET. `target` is a path under v1.0 or a full URL (a nextLink, a beta path), sent verbatim. */
  get(operation: Operation, target: string, budget: GraphBudget | null, clientRequestId: string = randomUUID()): Promise<GraphAnswer> {
    return this.#send({ method: 'GET' }, operation, target, budget, clientRequestId);
  }

  /**
   * One logical POST of a JSON body: a directory function such as checkMemberGroups, which reads
   * and changes nothing, or an Intune action such as rotateBitLockerKeys (a full beta URL, sent verbatim).
   */
  post(operation: Operation, target: string, body: Json, budget: GraphBudget | null): Promise<GraphAnswer> {
    return this.#send({ method: 'POST', body }, operation, target, budget, randomUUID());
  }

  async #send(what: { method: 'GET' } | { method: 'POST'; body: Json }, operation: Operation, target: string, budget: GraphBudget | null, clientRequestId: string): Promise<GraphAnswer> {
    spendBudget(operation, budget);
    if (this.#pace) await this.#pace();
    const call = new GraphCall(operation.name, clientRequestId, target.startsWith('https://') ? target : null);
    let response: Response;
    try {
      const request = this.#client.api(target).middlewareOptions([call]).responseType(ResponseType.RAW);
      // The SDK types get() and post() as any; with ResponseType.RAW they resolve to the fetch Response, whatever the status.
      response = (await (what.method === 'GET' ? request.get() : request.post(what.body))) as Response;
    } catch (error) {
      if (call.problem) throw call.problem;
      throw new KeyDeskProblem('graph_error', `KeyDesk could not ${operation.what}: the request to Microsoft Graph failed.`, { cause: error });
    }
    return { status: response.status, body: parseBody(await response.text()), requestId: response.headers.get('request-id') ?? call.requestId };
  }

  /** A GET whose answer must be a 200 with a `value` list. */
  async getList(operation: Operation, target: string, budget: GraphBudget | null): Promise<{ value: unknown[]; answer: GraphAnswer }> {
    const answer = await this.get(operation, target, budget);
    if (answer.status !== 200) throw problemFor(operation, answer);
    const value = answer.body?.value;
    if (!Array.isArray(value)) throw unexpectedAnswer(operation, answer, 'no list');
    return { value, answer };
  }

  /**
   * Follows `@odata.nextLink` verbatim until `limit` items, or until the request's Graph budget
   * has no room for another page; `capped` when Graph had more.
   */
  async collect(operation: Operation, firstPath: string, limit: number, budget: GraphBudget | null): Promise<{ items: unknown[]; capped: boolean }> {
    const items: unknown[] = [];
    let target: string | undefined = firstPath;
    while (target !== undefined) {
      const { value, answer } = await this.getList(operation, target, budget);
      items.push(...value);
      const nextLink = answer.body?.['@odata.nextLink'];
      const more = typeof nextLink === 'string';
      if (items.length >= limit) return { items: items.slice(0, limit), capped: items.length > limit || more };
      if (!more) break;
      if (budget !== null && budget.available < 1) return { items, capped: true };
      // The SDK would send KeyDesk's token to whatever host a nextLink names, as long as it is a Graph host.
      if (!nextLink.startsWith(this.#versionRoot)) throw unexpectedAnswer(operation, answer, 'a next page outside the configured Graph base URL');
      target = nextLink;
    }
    return { items, capped: false };
  }
}

function parseBody(text: string): Json | null {
  if (text === '') return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Every path that reaches here checks the budget first; running out means a bug, not a user error. */
function spendBudget(operation: Operation, budget: GraphBudget | null): void {
  if (budget !== null && !budget.trySpend()) {
    throw new KeyDeskProblem('internal_error', `KeyDesk stopped before it could ${operation.what}: this request already made ${budget.limit} Graph requests.`);
  }
}

function graphRequestIdOf(answer: GraphAnswer): Record<string, string> {
  return answer.requestId ? { graphRequestId: answer.requestId } : {};
}

/** The problem for a non-2xx answer. */
export function problemFor(operation: Operation, answer: GraphAnswer): KeyDeskProblem {
  const error = answer.body?.error;
  const rawCode = isObject(error) ? error.code : undefined;
  const code = typeof rawCode === 'string' && GRAPH_ERROR_CODE.test(rawCode) ? rawCode : null;
  const said = `${answer.status}${code ? ` ${code}` : ''}`;
  const extensions = graphRequestIdOf(answer);
  if (answer.status === 401 || answer.status === 403) {
    return new KeyDeskProblem(
      'graph_permission_missing',
      `Microsoft Graph refused to let KeyDesk ${operation.what} (${said}): grant KeyDesk's app registration the ` +
        `application permission ${operation.permission} and grant admin consent for it.`,
      { extensions },
    );
  }
  if (answer.status === 400) {
    return new KeyDeskProblem('graph_error', `Microsoft Graph rejected KeyDesk's request to ${operation.what} (${said}).`, { extensions });
  }
  return new KeyDeskProblem('graph_error', `Microsoft Graph could not ${operation.what} (${said}).`, { extensions });
}

export function unexpectedAnswer(operation: Operation, answer: GraphAnswer, what: string): KeyDeskProblem {
  return new KeyDeskProblem('graph_error', `Microsoft Graph answered KeyDesk's request to ${operation.what} with ${what}.`, {
    extensions: graphRequestIdOf(answer),
  });
}
