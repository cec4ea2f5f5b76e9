import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createSelfService, type SelfService, type SelfServiceDeps } from '../../disclosure/self-service.js';

/** The self-service door's questions (who may use it, their devices, the daily limit), for its pages. */

declare module 'fastify' {
  interface FastifyInstance {
    selfService: SelfService;
  }
}

async function selfService(app: FastifyInstance, options: SelfServiceDeps): Promise<void> {
  app.decorate('selfService', createSelfService(options));
}

export default fp(selfService, { name: 'self-service', fastify: '5.x' });
