import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { createDeviceLookup, type DeviceLookup } from '../../disclosure/lookup.js';
import type { GraphGateway } from '../../graph/types.js';

/** Device look-ups (search, a device's key IDs), which disclose nothing secret. */

declare module 'fastify' {
  interface FastifyInstance {
    deviceLookup: DeviceLookup;
  }
}

async function deviceLookup(app: FastifyInstance, options: { graph: GraphGateway }): Promise<void> {
  app.decorate('deviceLookup', createDeviceLookup(options.graph));
}

export default fp(deviceLookup, { name: 'device-lookup', fastify: '5.x' });
