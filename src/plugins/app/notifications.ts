import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Notifications } from '../../notify/notifications.js';

/** The notification channels (webhook, email, SIEM): the outbox delivers through them; closed with the app. */

declare module 'fastify' {
  interface FastifyInstance {
    notifications: Notifications;
  }
}

async function notifications(app: FastifyInstance, options: { notifications: Notifications }): Promise<void> {
  app.decorate('notifications', options.notifications);
  app.addHook('onClose', async () => options.notifications.close());
}

export default fp(notifications, { name: 'notifications', fastify: '5.x' });
