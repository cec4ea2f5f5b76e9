import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createReconciler, type Reconciler, type ReconcilerDeps } from '../../reconcile/reconciler.js';

/** The reconciliation with Entra's audit log: the routes read it, the leader's job runs it. */

declare module 'fastify' {
  interface FastifyInstance {
    reconciliation: Reconciler;
  }
}

async function reconciliation(app: FastifyInstance, options: ReconcilerDeps): Promise<void> {
  // The store is its opener's to close (startServer, after the leader's jobs have stopped).
  app.decorate('reconciliation', createReconciler(options));
}

export default fp(reconciliation, { name: 'reconciliation', fastify: '5.x' });
