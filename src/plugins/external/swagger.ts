import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { KeyDeskConfig } from '../../config/config.js';

/** `/openapi.json` generated from the route schemas, and a browsable `/docs`. */

export interface ApiDocsOptions {
  version: string;
  demo: boolean;
  config: Pick<KeyDeskConfig, 'authorityHost' | 'tenantId' | 'apiAudiences' | 'web'>;
}

async function apiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.demo ? 'KeyDesk API (DEMO: simulated tenant)' : 'KeyDesk API',
        version: options.version,
        description:
          'Audited disclosure of BitLocker recovery passwords for IT helpdesks and ticketing systems. ' +
          'Every error is application/problem+json with a stable `code`.',
      },
      components: {
        securitySchemes: {
          entra: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An Entra ID access token for KeyDesk\'s API (client credentials), carrying an app role in `roles`.',
          },
        },
      },
      security: [{ entra: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { defaultModelsExpandDepth: 0 } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export default fp(apiDocs, { name: 'api-docs', fastify: '5.x' });
