import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { AlertWatch } from '../../alerts/alert-watch.js';

/** The alert rules, fed by the disclosure service; closed (evaluations in flight finished) with the app. */

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertWatch;
  }
}

async function alerts(app: FastifyInstance, options: { watch: AlertWatch }): Promise<void> {
  app.decorate('alerts', options.watch);
  app.addHook('onClose', async () => {
    await options.watch.close();
  });
}

export default fp(alerts, { name: 'alerts', fastify: '5.x', dependencies: ['audit-trail'] });
