import fp from 'fastify-plugin';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import type { KeyDeskConfig } from '../../config/config.js';
import { holdsRole, KEYDESK_ROLES, type RoleRequirement } from '../../auth/roles.js';

/** `/openapi.json` generated from the route schemas, and a browsable `/docs`. */

export interface ApiDocsOptions {
  version: string;
  demo: boolean;
  config: Pick<KeyDeskConfig, 'authorityHost' | 'tenantId' | 'apiAudiences' | 'web'>;
}

/** The OAuth 2 scheme an integration follows: client credentials from KeyDesk's tenant. */
export const OAUTH_SCHEME = 'entra';
/** The same token, pasted: Swagger UI cannot fetch one itself (Entra lets only SPA clients redeem tokens cross-origin). */
export const BEARER_SCHEME = 'bearerToken';

/** The `.default` scope of KeyDesk's API: what a client-credentials token request asks for. */
export function apiScope(config: ApiDocsOptions['config']): string {
  const audience = config.apiAudiences[0] ?? '';
  return `${audience.replace(/\/$/, '')}/.default`;
}

function securitySchemes(config: ApiDocsOptions['config']) {
  const scope = apiScope(config);
  return {
    [OAUTH_SCHEME]: {
      type: 'oauth2' as const,
      description:
        "Entra ID client credentials: the calling app (a ticketing system, say) asks KeyDesk's tenant for a token for KeyDesk's API, " +
        'which carries the app roles an administrator granted it in `roles`. KeyDesk accepts application tokens only.',
      flows: {
        clientCredentials: {
          tokenUrl: `${config.authorityHost}/${config.tenantId}/oauth2/v2.0/token`,
          scopes: { [scope]: "KeyDesk's API, with the app roles granted to the calling app" },
        },
      },
    },
    [BEARER_SCHEME]: {
      type: 'http' as const,
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: `A token obtained as \`${OAUTH_SCHEME}\` describes (scope ${scope}), pasted here.`,
    },
  };
}

/** Disclose includes look-up, so a route needing Lookup is open to both roles. */
export function rolesAllowing(required: RoleRequirement): string[] {
  return KEYDESK_ROLES.filter((role) => holdsRole([role], required));
}

/**
 * What a route's own schema cannot say: the token it needs and the app roles that open it, from
 * its `requiredRole` (the same config the authentication plugin enforces). Routes without a role
 * keep what they say themselves (the probes: `security: []`).
 */
function documentAccess(config: ApiDocsOptions['config']) {
  const scope = apiScope(config);
  return ({ schema, url, route }: { schema: FastifySchema; url: string; route: RouteOptions }) => {
    const requiredRole = route.config?.requiredRole;
    if (!requiredRole) return { schema, url };
    return {
      url,
      schema: { ...schema, security: [{ [OAUTH_SCHEME]: [scope] }, { [BEARER_SCHEME]: [] }], 'x-keydesk-app-roles': rolesAllowing(requiredRole) } as FastifySchema,
    };
  };
}

function openapiDocument(options: ApiDocsOptions): FastifyDynamicSwaggerOptions['openapi'] {
  const { config } = options;
  return {
    openapi: '3.1.0',
    info: {
      title: options.demo ? 'KeyDesk API (DEMO: simulated tenant)' : 'KeyDesk API',
      version: options.version,
      description:
        'Audited disclosure of BitLocker recovery passwords for IT helpdesks and ticketing systems. ' +
        'Every error is application/problem+json with a stable `code`. Each operation names the app roles that allow it in `x-keydesk-app-roles`.',
      // package.json says UNLICENSED: the document says so too.
      // package.json says UNLICENSED: no open licence applies; SPDX names such a licence with a LicenseRef.
      license: { name: 'UNLICENSED (proprietary)', identifier: 'LicenseRef-KeyDesk-Proprietary' },
    },
    servers: [config.web?.publicBaseUrl ? { url: config.web.publicBaseUrl, description: 'KeyDesk (PUBLIC_BASE_URL)' } : { url: '/', description: 'The KeyDesk serving this document' }],
    tags: [
      { name: 'devices', description: 'Finding a device and listing its recovery key IDs (BitLocker.Lookup)' },
      { name: 'recovery-keys', description: 'Finding a recovery key and its device by key ID, through the key index (BitLocker.Lookup; starting a sync: BitLocker.Audit)' },
      { name: 'reports', description: 'The escrow coverage report, computed after each full sync of the key index (BitLocker.Audit)' },
      { name: 'disclosures', description: 'Disclosing one recovery password, audited (BitLocker.Disclose)' },
      { name: 'audit', description: 'The audit trail and what verifies it (BitLocker.Audit)' },
      { name: 'health', description: 'Probes for the orchestrator; no token' },
    ],
    components: { securitySchemes: securitySchemes(config) },
    security: [{ [OAUTH_SCHEME]: [apiScope(config)] }, { [BEARER_SCHEME]: [] }],
  };
}

async function apiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  await app.register(swagger, {
    openapi: openapiDocument(options),
    transform: documentAccess(options.config),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { defaultModelsExpandDepth: 0 } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export default fp(apiDocs, { name: 'api-docs', fastify: '5.x' });
