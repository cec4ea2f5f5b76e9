import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KeyDeskProblem, isProblem } from '../problem/problem.js';

/**
 * Turns every error into `application/problem+json` with a stable `code`. Error bodies carry the
 * problem's own words only: never an upstream body, a stack, or anything the request carried.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Refusals on this route are audited under this action even when the rules never ran. */
    auditRefusalsAs?: 'disclosure';
  }
  interface FastifyRequest {
    /** Set once an audit record of this request's outcome is durable. */
    auditedOutcome: boolean;
  }
}

export interface ProblemDetailsOptions {
  /** Records a refusal that happened before the disclosure rules ran (authorization, validation). */
  recordEarlyRefusal: (request: FastifyRequest, problem: KeyDeskProblem) => Promise<void>;
}

export function toProblem(error: FastifyError | KeyDeskProblem | Error): KeyDeskProblem {
  if (isProblem(error)) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return new KeyDeskProblem('invalid_request', `The request is not valid: ${fastifyError.message}.`, {
      extensions: {
        errors: fastifyError.validation.map((v) => ({
          location: fastifyError.validationContext ?? 'body',
          path: v.instancePath || '/',
          message: v.message ?? 'is not valid',
        })),
      },
    });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KeyDeskProblem('payload_too_large', 'The request body is larger than KeyDesk accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KeyDeskProblem('unsupported_media_type', 'Send the request body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KeyDeskProblem('invalid_request', 'The request body is not valid JSON.');
  }
  if (fastifyError.statusCode === 429) {
    return new KeyDeskProblem('rate_limited', 'Too many requests; slow down and retry later.');
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

async function problemDetails(app: FastifyInstance, options: ProblemDetailsOptions): Promise<void> {
  app.decorateRequest('auditedOutcome', false);

  app.setErrorHandler(async (error: FastifyError | KeyDeskProblem, request, reply) => {
    let problem = toProblem(error);
    if (problem.status >= 500) {
      request.log.error({ err: error, code: problem.code }, 'request failed');
    } else {
      request.log.info({ code: problem.code }, 'request refused');
    }
    // Only an authenticated caller's refusal is audited: anonymous traffic (or any token while Entra
    // cannot be reached to check it) must not be able to fill the audit disk.
    if (request.routeOptions.config.auditRefusalsAs && !request.auditedOutcome && request.caller !== null) {
      try {
        await options.recordEarlyRefusal(request, problem);
      } catch (auditError) {
        request.log.error({ err: auditError }, 'refusal could not be audited');
        problem = isProblem(auditError) ? auditError : new KeyDeskProblem('audit_unavailable', 'The refusal could not be recorded in the audit trail.');
      }
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(reply, new KeyDeskProblem('not_found', `${request.method} ${request.url.split('?')[0]} does not exist. See /docs for the API.`)),
  );
}

export default fp(problemDetails, { name: 'problem-details', fastify: '5.x' });
