import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APP_ROLES } from '../../../../auth/access-token.js';
import { findDevices, listDeviceRecoveryKeys } from '../../../../disclosure/lookup.js';
import {
  DeviceIdParams,
  DeviceRecoveryKeysResponse,
  DeviceSearchQuery,
  DeviceSearchResponse,
  ProblemRef,
} from '../../../../schemas/api.js';

const problems = { 400: ProblemRef, 401: ProblemRef, 403: ProblemRef, 502: ProblemRef, 503: ProblemRef };

const deviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/devices',
    {
      config: { requiredRole: APP_ROLES.lookup },
      schema: {
        summary: 'Find devices by exact name or by name prefix',
        description: 'Returns device metadata and registered owners; never a recovery password.',
        tags: ['devices'],
        querystring: DeviceSearchQuery,
        response: { 200: DeviceSearchResponse, ...problems },
      },
    },
    async (request) => findDevices(app.keydesk.graph, request.query),
  );

  app.get(
    '/devices/:deviceId/recovery-keys',
    {
      config: { requiredRole: APP_ROLES.lookup },
      schema: {
        summary: "List a device's recovery key IDs",
        description: 'Key metadata only (key ID, volume type, date). Reading a recovery password is a disclosure.',
        tags: ['devices'],
        params: DeviceIdParams,
        response: { 200: DeviceRecoveryKeysResponse, ...problems, 404: ProblemRef },
      },
    },
    async (request) => listDeviceRecoveryKeys(app.keydesk.graph, request.params.deviceId),
  );
};

export default deviceRoutes;
