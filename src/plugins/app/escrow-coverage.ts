import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { EscrowCoverage } from '../../coverage/coverage-service.js';

/** The escrow coverage report: computed after each full key-index sync, read by its route and page. */

declare module 'fastify' {
  interface FastifyInstance {
    escrowCoverage: EscrowCoverage;
  }
}

async function escrowCoverage(app: FastifyInstance, options: { coverage: EscrowCoverage }): Promise<void> {
  app.decorate('escrowCoverage', options.coverage);
}

export default fp(escrowCoverage, { name: 'escrow-coverage', fastify: '5.x' });
