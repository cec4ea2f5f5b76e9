import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APP_ROLES } from '../../../../auth/roles.js';
import { auditCallerOf } from '../../../../auth/audit-caller.js';
import { COMMON_API_PROBLEMS, problemResponses } from '../../../../schemas/api.js';
import { KeyIdLookupResponse, KeyIdPrefixQuery, KeyIndexSyncResponse, KeyIndexSyncStartResponse } from '../../../../schemas/key-index.js';
import { inputProblem } from '../../../../schemas/problem-examples.js';
import { perMinute } from '../../../../plugins/external/rate-limit.js';
import { searcherOf } from '../devices/index.js';

/**
 * The key-ID index: find a key (and its device) by the key ID read off the recovery screen, and
 * the sync that fills the index from Graph's tenant-wide key list. Metadata only.
 */

const OPERATOR_PROBLEMS = ['unauthorized', 'forbidden', 'app_token_required', 'internal_error', 'identity_provider_unavailable', 'shutting_down'] as const;

const lookupProblems = problemResponses(
  { instance: '/api/v1/recovery-keys', invalidRequest: inputProblem('querystring', 'pattern', '/keyIdPrefix', {}) },
  ...COMMON_API_PROBLEMS,
);
const statusProblems = problemResponses({ instance: '/api/v1/recovery-keys/sync' }, ...OPERATOR_PROBLEMS);
const startProblems = problemResponses({ instance: '/api/v1/recovery-keys/sync' }, ...OPERATOR_PROBLEMS, 'audit_unavailable');

const recoveryKeyRoutes: FastifyPluginAsyncTypebox<{ searchesPerMinute: number }> = async (app, options) => {
  // A look-up by key ID reads its devices from Graph: it counts as a search (RATE_LIMIT_SEARCHES_PER_MINUTE).
  const rateLimit = perMinute({ max: () => options.searchesPerMinute, key: searcherOf });
  app.get(
    '/recovery-keys',
    {
      config: { requiredRole: APP_ROLES.lookup, rateLimit },
      schema: {
        operationId: 'findRecoveryKeysByKeyId',
        summary: 'Find recovery keys, and their devices, by key ID',
        description:
          "Searches KeyDesk's key index (synced from Graph's tenant-wide key list, and refreshed whenever KeyDesk reads a device's keys) for keys whose ID starts with `keyIdPrefix`. Each key comes with its device as Entra has it now. Key metadata only; reading a recovery password is a disclosure, which may name the key ID alone.",
        tags: ['recovery-keys'],
        querystring: KeyIdPrefixQuery,
        response: { 200: KeyIdLookupResponse, ...lookupProblems },
      },
    },
    async (request) => ({ recoveryKeys: await app.keyIndex.findRecoveryKeys(request.query.keyIdPrefix) }),
  );

  app.get(
    '/recovery-keys/sync',
    {
      // Whoever may look keys up, or start a sync, may follow it.
      config: { requiredRole: [APP_ROLES.lookup, APP_ROLES.audit] },
      schema: {
        operationId: 'getKeyIndexSync',
        summary: "The key index's sync from Graph",
        description: 'Whether a sync runs, when the last one succeeded (the index is as of then), and how far the current one has read.',
        tags: ['recovery-keys'],
        response: { 200: KeyIndexSyncResponse, ...statusProblems },
      },
    },
    async () => app.keyIndex.status(),
  );

  app.post(
    '/recovery-keys/sync',
    {
      config: { requiredRole: [APP_ROLES.lookup, APP_ROLES.audit] },
      schema: {
        operationId: 'startKeyIndexSync',
        summary: 'Start a full sync of the key index now',
        description:
          "Records who asked (an audit record, `key_index_sync`), starts a sync in the background and answers 202 at once; while a sync is under way (on any instance) it answers 202 `already_running` and starts none. The sync reads Graph's tenant-wide key list at KEY_INDEX_SYNC_REQUESTS_PER_10S, honouring 429 Retry-After. Follow it with `GET /api/v1/recovery-keys/sync`.",
        tags: ['recovery-keys'],
        response: { 202: KeyIndexSyncStartResponse, ...startProblems },
      },
    },
    async (request, reply) => {
      const identity = request.caller ?? { kind: 'app' as const, appId: null, oid: null, upn: null, name: null };
      const status = await app.keyIndex.startSync({ caller: auditCallerOf(identity, request), requestId: request.id, callerRequestId: request.callerRequestId });
      return reply.code(202).send({ status, ...(await app.keyIndex.status()) });
    },
  );
};

export default recoveryKeyRoutes;
