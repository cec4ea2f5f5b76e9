import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createDeviceLookup, type DeviceLookup } from '../../disclosure/lookup.js';
import type { GraphGateway } from '../../graph/types.js';
import { GRAPH_REQUESTS_PER_REQUEST, withGraphBudget } from '../../graph/request-budget.js';

/**
 * Device look-ups (search, a device's key IDs), which disclose nothing secret. Every request runs
 * under a Graph budget: one request of KeyDesk's makes at most GRAPH_REQUESTS_PER_REQUEST Graph
 * requests, whatever it asks for.
 */

declare module 'fastify' {
  interface FastifyInstance {
    deviceLookup: DeviceLookup;
  }
}

async function deviceLookup(app: FastifyInstance, options: { graph: GraphGateway }): Promise<void> {
  app.decorate('deviceLookup', createDeviceLookup(options.graph));
  // Running the rest of the request inside the budget's async context: every hook and handler after this one sees it.
  app.addHook('onRequest', (_request, _reply, done) => withGraphBudget(GRAPH_REQUESTS_PER_REQUEST, done));
}

export default fp(deviceLookup, { name: 'device-lookup', fastify: '5.x' });
