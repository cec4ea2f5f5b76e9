import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { APP_ROLES } from '../../../../auth/roles.js';
import { auditCallerOf } from '../../../../auth/audit-caller.js';
import type { Rotation } from '../../../../rotation/types.js';
import type { RotationRequester } from '../../../../rotation/rotation-service.js';
import { problemResponses } from '../../../../schemas/api.js';
import { inputProblem } from '../../../../schemas/problem-examples.js';
import { RotationListQuery, RotationListResponse, RotationParams, RotationSchema, type RotationView } from '../../../../schemas/rotation.js';

/**
 * Rotation after disclosure: ask Intune to replace the recovery password a disclosure gave out,
 * and follow every rotation until a new key is escrowed. Any caller with BitLocker.Disclose may
 * ask for any granted disclosure, not only its own: a rotation only makes the key safer, and the
 * colleague who closes the ticket, or the ticketing system acting for the agent, must be able to.
 * Who asked is in the `rotation` record's caller.
 */

const CALLER_PROBLEMS = ['unauthorized', 'forbidden', 'app_token_required', 'internal_error', 'identity_provider_unavailable', 'shutting_down'] as const;

const requestProblems = problemResponses(
  { instance: `/api/v1/disclosures/{disclosureId}/rotation`, invalidRequest: inputProblem('params', 'format', '/disclosureId', { format: 'uuid' }) },
  'invalid_request',
  'not_found',
  'disclosure_not_granted',
  'rotation_off',
  'audit_unavailable',
  ...CALLER_PROBLEMS,
);
const listProblems = problemResponses({ instance: '/api/v1/rotations', invalidRequest: inputProblem('querystring', 'pattern', '/limit', {}) }, 'invalid_request', ...CALLER_PROBLEMS);

/** What the API shows of a rotation: what the store keeps to check it (known key IDs, who asked) stays inside. */
export function rotationView(rotation: Rotation): RotationView {
  const { id, disclosureId, deviceId, managedDeviceId, oldRecoveryKeyId, newRecoveryKeyId, state, requestedAt, updatedAt, deadline, error } = rotation;
  return { id, disclosureId, deviceId, managedDeviceId, oldRecoveryKeyId, newRecoveryKeyId, state, requestedAt, updatedAt, deadline, error };
}

function requesterOf(request: FastifyRequest): RotationRequester {
  const caller = request.caller ?? { kind: 'app' as const, appId: null, oid: null, upn: null, name: null };
  return { caller: auditCallerOf(caller, request), requestId: request.id, callerRequestId: request.callerRequestId };
}

const rotationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/disclosures/:disclosureId/rotation',
    {
      config: { requiredRole: APP_ROLES.disclose },
      schema: {
        operationId: 'rotateDisclosedRecoveryKey',
        summary: 'Rotate the recovery password a disclosure gave out',
        description:
          "Asks Intune (Graph beta `rotateBitLockerKeys`) to replace the disclosed recovery password, then follows the rotation until a new key is escrowed for the device. 202 with the new rotation (usually `pending`: Intune accepted, which is not done); 200 with the one that exists already for this disclosure (one per disclosure, on any instance). Any caller with BitLocker.Disclose may ask. Every state change is an audit record (`rotation`). ROTATE_AFTER_DISCLOSURE=off answers 409 `rotation_off`.",
        tags: ['disclosures'],
        params: RotationParams,
        response: { 200: RotationSchema, 202: RotationSchema, ...requestProblems },
      },
    },
    async (request, reply) => {
      const { rotation, created } = await app.rotations.request(request.params.disclosureId, requesterOf(request));
      return reply.code(created ? 202 : 200).send(rotationView(rotation));
    },
  );

  app.get(
    '/rotations',
    {
      config: { requiredRole: [APP_ROLES.lookup, APP_ROLES.audit] },
      schema: {
        operationId: 'listRotations',
        summary: 'Rotations of disclosed recovery passwords',
        description: 'Every rotation, newest request first, `limit` at a time; `state` narrows the list (e.g. `overdue`). Pass `nextCursor` back as `cursor` for the next page.',
        tags: ['disclosures'],
        querystring: RotationListQuery,
        response: { 200: RotationListResponse, ...listProblems },
      },
    },
    async (request) => {
      const { state, limit, cursor } = request.query;
      const page = await app.rotations.list({ ...(state ? { state } : {}), limit: limit ? Number(limit) : 50, cursor: cursor || null });
      return { rotations: page.rotations.map(rotationView), nextCursor: page.nextCursor };
    },
  );
};

export default rotationRoutes;
