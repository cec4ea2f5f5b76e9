import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

/**
 * While KeyDesk shuts down, each response to a request already in flight asks its client to close
 * the connection. Without this a keep-alive connection that turns idle after close() began (a
 * load balancer's, say) keeps the server open until its keep-alive timeout runs out.
 */
async function connectionDraining(app: FastifyInstance): Promise<void> {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}

export default fp(connectionDraining, { name: 'connection-draining', fastify: '5.x' });
