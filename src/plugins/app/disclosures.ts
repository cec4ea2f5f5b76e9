import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createDisclosureService, type DisclosureService, type DisclosureServiceDeps } from '../../disclosure/service.js';

/** The one intake of disclosures, which both doors (the API and the web UI) call. */

declare module 'fastify' {
  interface FastifyInstance {
    disclosures: DisclosureService;
  }
}

async function disclosures(app: FastifyInstance, options: DisclosureServiceDeps): Promise<void> {
  app.decorate('disclosures', createDisclosureService(options));
}

export default fp(disclosures, { name: 'disclosures', fastify: '5.x', dependencies: ['audit-trail'] });
