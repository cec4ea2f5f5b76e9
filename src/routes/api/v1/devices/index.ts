import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { APP_ROLES } from '../../../../auth/roles.js';
import { perMinute } from '../../../../plugins/external/rate-limit.js';
import { passwordShapedProblem } from '../../../../disclosure/password-shaped.js';
import { COMMON_API_PROBLEMS, DeviceIdParams, DeviceRecoveryKeysResponse, DeviceSearchQuery, DeviceSearchResponse, problemResponses } from '../../../../schemas/api.js';
import { EXAMPLE } from '../../../../schemas/examples.js';
import { inputProblem } from '../../../../schemas/problem-examples.js';

/** Look-ups: finding a device and listing its key IDs. Nothing secret, but each costs Graph calls. */

export interface DeviceRoutesOptions {
  searchesPerMinute: number;
}

const searchProblems = problemResponses(
  { instance: '/api/v1/devices', invalidRequest: inputProblem('querystring', 'minLength', '/prefix', { limit: 2 }) },
  ...COMMON_API_PROBLEMS,
);

const keyListProblems = problemResponses(
  { instance: `/api/v1/devices/${EXAMPLE.deviceId}/recovery-keys`, invalidRequest: inputProblem('params', 'pattern', '/deviceId', {}) },
  ...COMMON_API_PROBLEMS,
  'device_not_found',
);

/** A name or prefix that looks like a recovery password is refused before it reaches Graph. */
async function refusePastedPassword(request: FastifyRequest): Promise<void> {
  const problem = passwordShapedProblem(request.query, 'querystring');
  if (problem) throw problem;
}

/** An app counts as one searcher; a person through a listed delegated client counts alone. */
export function searcherOf(request: FastifyRequest): string {
  const caller = request.caller;
  return `searches:${caller?.kind === 'user' ? caller.oid : (caller?.appId ?? request.ip)}`;
}

const deviceRoutes: FastifyPluginAsyncTypebox<DeviceRoutesOptions> = async (app, options) => {
  const rateLimit = perMinute({ max: () => options.searchesPerMinute, key: searcherOf });

  app.get(
    '/devices',
    {
      config: { requiredRole: APP_ROLES.lookup, rateLimit },
      preHandler: refusePastedPassword,
      schema: {
        operationId: 'findDevices',
        summary: 'Find devices by exact name or by name prefix',
        description: 'Give exactly one of `name` (exact match) or `prefix`. Returns device metadata and registered owners; never a recovery password.',
        tags: ['devices'],
        querystring: DeviceSearchQuery,
        response: { 200: DeviceSearchResponse, ...searchProblems },
      },
    },
    async (request) => app.deviceLookup.findDevices(request.query),
  );

  app.get(
    '/devices/:deviceId/recovery-keys',
    {
      config: { requiredRole: APP_ROLES.lookup, rateLimit },
      schema: {
        operationId: 'listRecoveryKeys',
        summary: "List a device's recovery key IDs",
        description:
          'Key metadata only (key ID, volume type, date). Reading a recovery password is a disclosure. Do not show key IDs to a helpdesk agent before the caller has read theirs off the recovery screen: matching it is what proves the caller is at the device.',
        tags: ['devices'],
        params: DeviceIdParams,
        response: { 200: DeviceRecoveryKeysResponse, ...keyListProblems },
      },
    },
    async (request) => app.deviceLookup.recoveryKeysOf(request.params.deviceId),
  );
};

export default deviceRoutes;
