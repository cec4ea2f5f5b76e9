import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KeyDeskProblem, isProblem } from '../../problem/problem.js';
import { validationProblem } from '../../problem/validation.js';
import { refusal } from '../../disclosure/wording.js';
import { passwordShapedUrlProblem, urlHasPasswordShape, withoutPasswordShapes } from '../../disclosure/password-shaped.js';

/**
 * Turns every error into `application/problem+json` with a stable `code`. Error bodies carry the
 * problem's own words only: never an upstream body, a stack, or anything the request carried.
 * With the web UI on, it answers routes that do not exist itself (src/web/index.ts).
 */

export interface ProblemDetailsOptions {
  /** False when the web UI answers routes that do not exist itself (with its pages' session and header). */
  notFound?: boolean;
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
    .send(problem.toJSON(withoutPasswordShapes(reply.request.url.split('?')[0]!)));
}

export function logProblem(request: FastifyRequest, problem: KeyDeskProblem, error: unknown): void {
  if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
  else request.log.info({ code: problem.code }, 'request refused');
}

export function notFoundProblem(request: FastifyRequest): KeyDeskProblem {
  return new KeyDeskProblem('not_found', `${request.method} ${withoutPasswordShapes(request.url.split('?')[0]!)} does not exist. See /docs for the API.`);
}

/** Paths that are the API's (or its documentation's): their answers stay JSON whoever asks. */
export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/metrics' || path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/');
}

async function problemDetails(app: FastifyInstance, options: ProblemDetailsOptions): Promise<void> {
  // No route takes a recovery password in its URL: one pasted into a search, a filter or a path is
  // refused before anything looks it up, records it or echoes it.
  app.addHook('onRequest', async (request) => {
    if (urlHasPasswordShape(request.url)) throw passwordShapedUrlProblem();
  });

  app.setErrorHandler(async (error: FastifyError | KeyDeskProblem, request, reply) => {
    const problem = toProblem(error);
    logProblem(request, problem, error);
    return sendProblem(reply, problem);
  });

  if (options.notFound !== false) app.setNotFoundHandler(async (request, reply) => sendProblem(reply, notFoundProblem(request)));
}

export default fp(problemDetails, { name: 'problem-details', fastify: '5.x' });
