import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { AuditTrail } from '../../audit/types.js';

/** The audit trail (already open: opening it is I/O, which building the app does not do). */

declare module 'fastify' {
  interface FastifyInstance {
    auditTrail: AuditTrail;
  }
}

async function auditTrail(app: FastifyInstance, options: { trail: AuditTrail }): Promise<void> {
  app.decorate('auditTrail', options.trail);
}

export default fp(auditTrail, { name: 'audit-trail', fastify: '5.x' });
