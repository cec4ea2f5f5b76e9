import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { KeyDeskProblem } from '../problem/problem.js';
import { METRICS_CONTENT_TYPE, type MetricsSource } from './exposition.js';

/**
 * METRICS_PORT: `GET /metrics` without a token, on METRICS_HOST (loopback unless an operator
 * opens it), for a scraper on the host or in the pod. Nothing else is served there: anything but
 * GET or HEAD of /metrics is 404 `not_found`; a collection that fails is 500 `internal_error`.
 */

export interface MetricsListener {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

function problem(code: 'not_found' | 'internal_error', detail: string): string {
  return JSON.stringify(new KeyDeskProblem(code, detail).toJSON('/metrics'));
}

export async function startMetricsListener(listen: { host: string; port: number }, source: MetricsSource, logger: Pick<Logger, 'error' | 'info'>): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(request.method === 'HEAD' ? undefined : body);
    };
    const problemType = 'application/problem+json; charset=utf-8';
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return send(404, problemType, problem('not_found', 'This listener serves GET /metrics only.'));
    }
    source().then(
      (text) => send(200, METRICS_CONTENT_TYPE, text),
      (error: unknown) => {
        logger.error({ err: error }, 'the metrics could not be collected');
        send(500, problemType, problem('internal_error', 'The metrics could not be collected; try again.'));
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  logger.info({ url: `${url}/metrics` }, 'metrics listening (no token: METRICS_PORT)');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
