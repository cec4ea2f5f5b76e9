import type { Context, MiddlewareOptions } from '@microsoft/microsoft-graph-client';
import type { Logger } from 'pino';
import type { KeyDeskProblem } from '../problem/problem.js';

/** The part of a pino logger the gateway uses; a child logger or `pino({ level: 'silent' })` fits. */
export type GraphLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * One logical Graph call (all its attempts), handed to KeyDesk's middleware through the SDK's
 * per-request middleware options. It carries what the middleware needs in (operation name,
 * client-request-id) and what the gateway needs out (attempts, status, Graph's request-id and a
 * KeyDeskProblem). The problem travels here because the SDK wraps anything a middleware throws
 * into a GraphError that keeps only the message, losing the problem's code and headers.
 */
export class GraphCall implements MiddlewareOptions {
  attempts = 0;
  status: number | null = null;
  requestId: string | null = null;
  problem: KeyDeskProblem | null = null;

  constructor(
    readonly operation: string,
    readonly clientRequestId: string,
    /**
     * Sent as is instead of the URL the SDK rebuilds from `.api()`: its parsePath reorders query
     * options (OData ones first), and Graph asks for `@odata.nextLink` to be followed verbatim.
     */
    readonly verbatimUrl: string | null = null,
  ) {}

  static of(context: Context): GraphCall {
    const call = context.middlewareControl?.getMiddlewareOptions(GraphCall);
    if (!(call instanceof GraphCall)) throw new TypeError('a Graph request was sent without its GraphCall middleware option');
    return call;
  }
}

/**
 * The Graph operations KeyDesk performs: the closed set `keydesk_graph_*{operation}` may carry.
 * A name outside it is counted as `other`, so no label ever holds anything a request carried.
 */
export const GRAPH_OPERATIONS = [
  'findDevices',
  'getDevice',
  'getIntuneRecord',
  'findUser',
  'listRecoveryKeys',
  'readRecoveryPassword',
  // The reconciliation with Entra's audit log, and the key index's full sync.
  'listDirectoryAudits',
  'getRecoveryKeyDevice',
  'listTenantRecoveryKeys',
  'listTenantDevices',
  'listManagedDevices',
  'rotateBitLockerKeys',
  'getDeviceActionResults',
] as const;

const KNOWN_OPERATIONS: ReadonlySet<string> = new Set(GRAPH_OPERATIONS);

export function operationLabel(operation: string): string {
  return KNOWN_OPERATIONS.has(operation) ? operation : 'other';
}

export type AttemptFailureKind = 'timeout' | 'network';

/** One attempt got no HTTP answer: it timed out or the connection failed. The retry handler retries it. */
export class GraphAttemptFailed extends Error {
  constructor(
    readonly kind: AttemptFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GraphAttemptFailed';
  }
}
