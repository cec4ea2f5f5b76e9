import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createReadinessMonitor, type ReadinessMonitor, type ReadinessMonitorOptions } from '../../health/readiness.js';

/**
 * Readiness (may this instance take disclosures?), checked in the background. Building the app
 * does not start the checks: the server does once it listens (src/server/start.ts), so a test of
 * the routes makes no call to Entra it did not ask for.
 */

declare module 'fastify' {
  interface FastifyInstance {
    readiness: ReadinessMonitor;
  }
}

async function readiness(app: FastifyInstance, options: Omit<ReadinessMonitorOptions, 'logger'>): Promise<void> {
  const monitor = createReadinessMonitor({ ...options, logger: app.log.child({ component: 'readiness' }) });
  app.decorate('readiness', monitor);
  app.addHook('onClose', async () => monitor.stop());
}

export default fp(readiness, { name: 'readiness', fastify: '5.x', dependencies: ['audit-trail'] });
