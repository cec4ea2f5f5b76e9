import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { RotationService } from '../../rotation/rotation-service.js';

/** Rotation after disclosure: the routes (and pages) ask for and list rotations, the leader's job checks them. */

declare module 'fastify' {
  interface FastifyInstance {
    rotations: RotationService;
  }
}

async function rotations(app: FastifyInstance, options: { rotations: RotationService }): Promise<void> {
  app.decorate('rotations', options.rotations);
  // A rotation asked for in the background (auto) finishes its first step before the store closes.
  app.addHook('onClose', () => options.rotations.idle());
}

export default fp(rotations, { name: 'rotations', fastify: '5.x' });
