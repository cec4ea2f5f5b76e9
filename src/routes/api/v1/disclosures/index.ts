import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_ROLES } from '../../../../auth/roles.js';
import { auditCallerOf } from '../../../../auth/audit-caller.js';
import { authContextClaimsRequest } from '../../../../auth/sign-in-freshness.js';
import type { RateLimits } from '../../../../config/config.js';
import { DisclosureInputSchema } from '../../../../disclosure/input.js';
import type { DisclosureAttempt, GrantedDisclosure } from '../../../../disclosure/service.js';
import { refusal } from '../../../../disclosure/wording.js';
import { perMinute, staffDisclosuresKey } from '../../../../plugins/external/rate-limit.js';
import { logProblem, sendProblem, toProblem } from '../../../../plugins/app/problem-details.js';
import type { KeyDeskProblem } from '../../../../problem/problem.js';
import { COMMON_API_PROBLEMS, DisclosureResponse, problemResponses } from '../../../../schemas/api.js';
import { invalidDisclosureExample } from '../../../../schemas/problem-examples.js';

/**
 * The API's door into disclosure: adapts the request to the one intake (`app.disclosures`) and its
 * result to JSON. Every refusal of an authenticated caller is recorded there, whichever layer
 * raised it (role, body, rate limit, the rules).
 */

export interface DisclosureRoutesOptions {
  rateLimits: RateLimits;
  requiredAuthContext: string | null;
}

function apiAttempt(request: FastifyRequest, input: unknown): DisclosureAttempt {
  const caller = request.caller;
  return {
    door: 'api',
    caller: auditCallerOf(caller ?? { kind: 'app', appId: null, oid: null, upn: null, name: null }, request),
    requestId: request.id,
    callerRequestId: request.callerRequestId,
    input,
    inputLocation: 'body',
    log: request.log,
  };
}

/**
 * A person's token through a listed client stands for that person: agentUpn is theirs, and with
 * REQUIRE_AUTH_CONTEXT the token must show Conditional Access applied it (a claims challenge tells
 * the client how to get one that does).
 */
function delegatedRefusal(request: FastifyRequest, input: unknown, requiredAuthContext: string | null): KeyDeskProblem | null {
  const caller = request.caller!;
  if (requiredAuthContext !== null && !caller.acrs.includes(requiredAuthContext)) {
    const claims = Buffer.from(authContextClaimsRequest(requiredAuthContext)).toString('base64');
    return refusal('step_up_required', { authContext: requiredAuthContext }, {
      headers: { 'www-authenticate': `Bearer error="insufficient_claims", error_description="The token lacks the authentication context ${requiredAuthContext}", claims="${claims}"` },
    });
  }
  const agentUpn = typeof input === 'object' && input !== null ? (input as Record<string, unknown>).agentUpn : undefined;
  if (typeof agentUpn === 'string' && agentUpn.toLowerCase() !== (caller.upn ?? '').toLowerCase()) {
    return refusal('agent_mismatch', { agentUpn, tokenUser: caller.upn ?? caller.oid ?? 'unknown' });
  }
  return null;
}

function answer(result: GrantedDisclosure) {
  return {
    disclosureId: result.disclosureId,
    auditRecordId: result.auditRecordId,
    device: result.device,
    recoveryKey: { id: result.recoveryKey.id, volumeType: result.recoveryKey.volumeType, createdDateTime: result.recoveryKey.createdDateTime, key: result.recoveryKey.key },
    checks: result.checks,
    warnings: result.warnings.map((w) => w.detail),
  };
}

/** Every refusal of an authenticated caller is recorded, so its answer names the attempt and the record. */
const disclosureProblems = problemResponses(
  { instance: '/api/v1/disclosures', recorded: true, invalidRequest: invalidDisclosureExample() },
  ...COMMON_API_PROBLEMS,
  'step_up_required',
  'device_not_found',
  'key_not_found',
  'ambiguous_device',
  'ambiguous_key_id',
  'payload_too_large',
  'unsupported_media_type',
  'key_id_mismatch',
  'requester_not_owner',
  'requester_disabled',
  'device_disabled',
  'invalid_ticket',
  'comment_required',
  'agent_mismatch',
  'audit_unavailable',
  'notification_unavailable',
);

const disclosureRoutes: FastifyPluginAsyncTypebox<DisclosureRoutesOptions> = async (app, options) => {
  const { rateLimits, requiredAuthContext } = options;
  const refuse = async (request: FastifyRequest, reply: FastifyReply, problem: KeyDeskProblem) =>
    sendProblem(reply, (await app.disclosures.refuse(apiAttempt(request, request.body), problem)).problem);

  // Refusals raised before the handler (role, body, rate limit) are recorded too, once the caller is known.
  app.setErrorHandler(async (error, request, reply) => {
    const problem = toProblem(error as Error);
    logProblem(request, problem, error);
    return request.caller ? refuse(request, reply, problem) : sendProblem(reply, problem);
  });

  app.post(
    '/disclosures',
    {
      config: {
        requiredRole: APP_ROLES.disclose,
        recordsRefusals: true,
        rateLimit: perMinute({
          max: (request) => (request.caller?.kind === 'user' ? rateLimits.staffDisclosuresPerMinute : rateLimits.disclosuresPerMinute),
          key: (request) => (request.caller?.kind === 'user' ? staffDisclosuresKey(request.caller.oid) : `disclosures:${request.caller?.appId ?? request.ip}`),
        }),
      },
      // The disclosure service validates the body itself, against this same schema, so the API and
      // the web UI refuse the same input with the same words (and record the refusal).
      validatorCompiler: () => () => true,
      schema: {
        operationId: 'discloseRecoveryKey',
        summary: 'Disclose the recovery password of one BitLocker recovery key',
        description:
          'Checks the ticket and reason, resolves the device (refusing a disabled one), matches the key ID read off the recovery screen, ' +
          'checks that the requester owns the device and that their account is enabled, durably audits the attempt, then reads the one key from Graph. ' +
          'Every attempt, granted or refused, is audited; a refusal carries its disclosureId and auditRecordId.',
        tags: ['disclosures'],
        body: DisclosureInputSchema,
        response: { 201: DisclosureResponse, ...disclosureProblems },
      },
    },
    async (request, reply) => {
      let input: unknown = request.body;
      if (request.caller?.kind === 'user') {
        const problem = delegatedRefusal(request, input, requiredAuthContext);
        if (problem) return refuse(request, reply, problem);
        if (typeof input === 'object' && input !== null && request.caller.upn !== null) input = { ...input, agentUpn: request.caller.upn };
      }
      const result = await app.disclosures.disclose(apiAttempt(request, input));
      if (result.outcome !== 'granted') return sendProblem(reply, result.problem);
      return reply.code(201).send(answer(result));
    },
  );
};

export default disclosureRoutes;
