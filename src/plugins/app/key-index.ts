import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { GraphGateway } from '../../graph/types.js';
import type { KeyIndex } from '../../key-index/key-index.js';
import { findRecoveryKeysByKeyId, type KeyIdMatch } from '../../key-index/key-id-lookup.js';

/** The key-ID index: the routes and pages look keys up and start syncs, the leader's job syncs it. */

export interface KeyIndexService extends KeyIndex {
  /** Index entries for the key ID given, each with its device as Graph has it now. */
  findRecoveryKeys(keyIdPrefix: string): Promise<KeyIdMatch[]>;
}

declare module 'fastify' {
  interface FastifyInstance {
    keyIndex: KeyIndexService;
  }
}

async function keyIndex(app: FastifyInstance, options: { keyIndex: KeyIndex; graph: GraphGateway }): Promise<void> {
  // The store is its opener's to close (startServer, after the leader's jobs have stopped).
  const service: KeyIndexService = { ...options.keyIndex, findRecoveryKeys: (prefix) => findRecoveryKeysByKeyId(options.keyIndex, options.graph, prefix) };
  app.decorate('keyIndex', service);
  // A sync this instance runs (a POST's, or the leader's) stops before the store closes.
  app.addHook('onClose', () => options.keyIndex.stop());
}

export default fp(keyIndex, { name: 'key-index', fastify: '5.x' });
