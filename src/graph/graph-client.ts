import { KEYDESK_VERSION } from '../version.js';
import {
  AuthenticationHandler,
  Client,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import type { KeyDeskConfig } from '../config/config.js';
import { isProblem } from '../problem/problem.js';
import { graphRequestDuration, graphRequestsTotal, graphThrottledTotal } from '../metrics/metrics.js';
import { GraphAttemptFailed, GraphCall, operationLabel, type GraphLogger } from './graph-call.js';
import { HttpsTransport } from './https-transport.js';
import { BoundedRetryHandler, DEFAULT_RETRY_TIMING, type RetryTiming } from './retry.js';

/** Sent on every Graph request: the BitLocker API requires a User-Agent, Microsoft support uses the ocp-* pair. */
export const GRAPH_IDENTITY_HEADERS: Readonly<Record<string, string>> = {
  'User-Agent': `KeyDesk/${KEYDESK_VERSION}`,
  'ocp-client-name': 'KeyDesk',
  'ocp-client-version': KEYDESK_VERSION,
};

function requestUrl(context: Context): string {
  return typeof context.request === 'string' ? context.request : context.request.url;
}

/**
 * Outermost: sees every logical call whole (token acquisition, all attempts). It keeps a thrown
 * KeyDeskProblem on the GraphCall (the SDK would reduce it to a message) and writes the one log
 * line per call. Paths are logged without their query: it holds device names. Bodies never are.
 */
class CallScopeHandler implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly logger: GraphLogger,
    private readonly now: () => number,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new TypeError('CallScopeHandler has no next middleware');
    const call = GraphCall.of(context);
    if (call.verbatimUrl !== null) context.request = call.verbatimUrl;
    const started = this.now();
    try {
      await this.next.execute(context);
    } catch (error) {
      if (isProblem(error)) call.problem = error;
      throw error;
    } finally {
      const fields = {
        graph: {
          operation: call.operation,
          method: context.options?.method ?? 'GET',
          path: new URL(requestUrl(context)).pathname,
          status: call.status,
          requestId: call.requestId,
          clientRequestId: call.clientRequestId,
          attempts: call.attempts,
          durationMs: Math.round(this.now() - started),
          ...(call.problem ? { problem: call.problem.code } : {}),
        },
      };
      const failed = call.problem !== null || call.status === null || (call.status >= 400 && call.status !== 404);
      if (failed) this.logger.warn(fields, 'Graph call failed');
      else this.logger.debug(fields, 'Graph call');
    }
  }
}

/**
 * Innermost before the network: one attempt. Sets the identity headers and client-request-id,
 * bounds the attempt with a timeout, and records status and request-id. The transport after it
 * buffers the whole body before it answers, so the timeout covers a body that stalls after the
 * headers as well.
 */
class AttemptHandler implements Middleware {
  private next: Middleware | undefined;

  constructor(private readonly timeoutMs: number) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new TypeError('AttemptHandler has no next middleware');
    const call = GraphCall.of(context);
    const options = (context.options ??= {});
    // The SDK hands over a plain object; the SDK's own FetchOptions type names DOM's HeadersInit.
    const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]);
    for (const [name, value] of Object.entries(GRAPH_IDENTITY_HEADERS)) headers.set(name, value);
    headers.set('client-request-id', call.clientRequestId);
    options.headers = headers;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    options.signal = controller.signal;
    const operation = operationLabel(call.operation);
    const answered = graphRequestDuration.startTimer({ operation });
    let status = 0;
    try {
      await this.next.execute(context);
      const response = context.response;
      if (!response) throw new TypeError('the HTTP handler returned no response');
      status = response.status;
      call.status = response.status;
      call.requestId = response.headers.get('request-id');
      answered();
      if (status === 429) graphThrottledTotal.inc();
    } catch (error) {
      if (controller.signal.aborted) {
        throw new GraphAttemptFailed('timeout', `did not answer within ${this.timeoutMs} ms`, { cause: error });
      }
      // fetch puts the socket's error code under `cause`, node:https on the error itself.
      const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
      throw new GraphAttemptFailed('network', `could not be reached (${typeof code === 'string' ? code : 'network error'})`, { cause: error });
    } finally {
      clearTimeout(timer);
      // Status 0: no answer came (a timeout or a failed connection).
      graphRequestsTotal.inc({ operation, status: String(status) });
    }
  }
}

export interface GraphClientOptions {
  logger: GraphLogger;
  /** Usually the GraphTokenProvider; the SDK's AuthenticationHandler asks it for each logical call. */
  authenticationProvider: AuthenticationProvider;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  retry?: Partial<Pick<RetryTiming, 'baseDelayMs' | 'maxDelayMs' | 'maxAttempts'>>;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Graph SDK client with KeyDesk's chain: call scope -> authentication -> bounded retry ->
 * attempt (timeout, identity) -> node:https. `customHosts` lets the SDK attach the token to any Graph
 * host (simulator, proxy); without it only Microsoft's public and national clouds get one.
 */
export function createGraphClient(config: Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>, options: GraphClientOptions): Client {
  const now = options.now ?? Date.now;
  const middleware: Middleware[] = [
    new CallScopeHandler(options.logger, now),
    new AuthenticationHandler(options.authenticationProvider),
    new BoundedRetryHandler(
      {
        ...DEFAULT_RETRY_TIMING,
        ...options.retry,
        budgetMs: config.graph.retryBudgetMs,
        sleep: options.sleep ?? realSleep,
        now,
        random: options.random ?? Math.random,
      },
      options.logger,
    ),
    new AttemptHandler(config.graph.requestTimeoutMs),
    new HttpsTransport(),
  ];
  return Client.initWithMiddleware({
    middleware,
    customHosts: new Set([new URL(config.graphBaseUrl).hostname]),
    baseUrl: `${config.graphBaseUrl}/`,
    defaultVersion: 'v1.0',
  });
}
