import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { KeyDeskProblem } from '../../problem/problem.js';

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
  // A request that arrives on a kept-alive connection after shutdown began is turned away as a
  // problem (Fastify's own return503OnClosing answers with a body of its own shape).
  app.addHook('onRequest', async () => {
    if (closing) throw new KeyDeskProblem('shutting_down', 'KeyDesk is restarting or shutting down; retry in a moment.', { headers: { 'retry-after': '2' } });
  });
}

export default fp(connectionDraining, { name: 'connection-draining', fastify: '5.x' });
