import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APP_ROLES } from '../../../../auth/roles.js';
import { KeyDeskProblem } from '../../../../problem/problem.js';
import { SigningKeyResponse } from '../../../../schemas/checkpoint.js';
import { problemResponses } from '../../../../schemas/api.js';

/** The audit trail's API. Today: the public key that verifies its signed checkpoints. */

export interface AuditRoutesOptions {
  /** The checkpoint signing key's public half; null when AUDIT_SIGNING_KEY_PATH is unset. */
  signingKey: { keyId: string; publicKeyPem: string } | null;
}

const signingKeyProblems = problemResponses(
  { instance: '/api/v1/audit/signing-key' },
  'unauthorized',
  'forbidden',
  'app_token_required',
  'signing_key_not_configured',
  'internal_error',
  'identity_provider_unavailable',
  'shutting_down',
);

const auditRoutes: FastifyPluginAsyncTypebox<AuditRoutesOptions> = async (app, options) => {
  app.get(
    '/audit/signing-key',
    {
      config: { requiredRole: APP_ROLES.audit },
      schema: {
        operationId: 'getAuditSigningKey',
        summary: 'The public key that verifies audit checkpoints',
        description:
          'KeyDesk signs the head of its audit chain every `AUDIT_CHECKPOINT_SECONDS` with an Ed25519 key. Keep this public key (and the checkpoints) away from whoever can write the trail: `npm run audit:verify -- <trail> --checkpoint <file> --public-key <pem>` then shows records cut off the end as well as edits.',
        tags: ['audit'],
        response: { 200: SigningKeyResponse, ...signingKeyProblems },
      },
    },
    async () => {
      if (!options.signingKey) throw new KeyDeskProblem('signing_key_not_configured', 'This KeyDesk signs no audit checkpoints: its operators have not set AUDIT_SIGNING_KEY_PATH.');
      return { algorithm: 'Ed25519' as const, ...options.signingKey };
    },
  );
};

export default auditRoutes;
