import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KeyDeskProblem, isProblem } from '../../problem/problem.js';
import { validationProblem } from '../../problem/validation.js';
import { refusal } from '../../disclosure/wording.js';

/**
 * Turns every error into `application/problem+json` with a stable `code`. Error bodies carry the
 * problem's own words only: never an upstream body, a stack, or anything the request carried.
 * With the web UI on, a browser asking for a page that does not exist gets an HTML page instead
 * (outside /api, /openapi.json and /docs, which stay JSON).
 */

export interface ProblemDetailsOptions {
  /** Renders a problem as the web UI's HTML page; absent when the web UI is off. */
  htmlPage?: (request: FastifyRequest, reply: FastifyReply, problem: KeyDeskProblem) => string;
}

export function toProblem(error: FastifyError | KeyDeskProblem | Error): KeyDeskProblem {
  if (isProblem(error)) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return validationProblem(fastifyError.validation, fastifyError.validationContext ?? 'body');
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KeyDeskProblem('payload_too_large', 'The request body is larger than KeyDesk accepts (BODY_LIMIT_BYTES).');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KeyDeskProblem('unsupported_media_type', 'Send the request body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KeyDeskProblem('invalid_request', 'The request body is not valid JSON.');
    case 'FST_CSRF_INVALID_TOKEN':
    case 'FST_CSRF_MISSING_SECRET':
      return refusal('csrf_invalid');
  }
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new KeyDeskProblem('invalid_request', 'The request could not be understood.');
  }
  return new KeyDeskProblem('internal_error', 'KeyDesk met an unexpected error. The request id in the logs identifies it.', { cause: error });
}

export function sendProblem(reply: FastifyReply, problem: KeyDeskProblem): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .type('application/problem+json; charset=utf-8')
    .send(problem.toJSON(reply.request.url.split('?')[0]));
}

export function logProblem(request: FastifyRequest, problem: KeyDeskProblem, error: unknown): void {
  if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
  else request.log.info({ code: problem.code }, 'request refused');
}

/** Paths that are the API's (or its documentation's): their answers stay JSON whoever asks. */
export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/');
}

async function problemDetails(app: FastifyInstance, options: ProblemDetailsOptions): Promise<void> {
  app.setErrorHandler(async (error: FastifyError | KeyDeskProblem, request, reply) => {
    const problem = toProblem(error);
    logProblem(request, problem, error);
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const problem = new KeyDeskProblem('not_found', `${request.method} ${path} does not exist. See /docs for the API.`);
    if (options.htmlPage && !isApiPath(path)) {
      return reply.code(404).type('text/html; charset=utf-8').send(options.htmlPage(request, reply, new KeyDeskProblem('not_found', 'There is no such page in KeyDesk. Check the address, or start again from the home page.')));
    }
    return sendProblem(reply, problem);
  });
}

export default fp(problemDetails, { name: 'problem-details', fastify: '5.x' });
