import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's two log lines per request (`incoming request`, `request completed`), with health
 * probes and metric scrapes — which arrive every few seconds — at debug rather than info. The lines show the path
 * only: the logger's `req` serializer drops the query string (search terms, Entra's code and
 * state on /auth/callback).
 */

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

function levelOf(request: FastifyRequest): 'debug' | 'info' {
  return PROBES.has(request.url.split('?')[0]!) ? 'debug' : 'info';
}

export class KeyDeskLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log[levelOf(request)]({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log[levelOf(request)]({ res: reply, responseTime: Math.round(reply.elapsedTime) }, 'request completed');
  }
}
