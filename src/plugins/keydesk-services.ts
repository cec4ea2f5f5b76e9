import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditCaller, AuditTrail } from '../audit/types.js';
import { auditEntry } from '../audit/entry.js';
import type { GraphGateway } from '../graph/types.js';
import { isProblem, type KeyDeskProblem } from '../problem/problem.js';
import { discloseRecoveryKey, type DisclosurePolicy, type DisclosureRequest, type GrantedDisclosure } from '../disclosure/disclose.js';

/**
 * Puts KeyDesk's own services on the instance for the routes: the Graph gateway, the audit sink
 * and the disclosure rules bound to them. Also turns a request into the caller the audit names.
 */

export interface KeyDeskServices {
  graph: GraphGateway;
  audit: AuditTrail;
  /** `caller` defaults to the API caller of the request; the web UI passes the signed-in staff member. */
  disclose(request: FastifyRequest, body: DisclosureRequest, caller?: AuditCaller): Promise<GrantedDisclosure>;
  recordEarlyRefusal(request: FastifyRequest, problem: KeyDeskProblem): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    keydesk: KeyDeskServices;
  }
}

export interface KeyDeskServicesOptions {
  graph: GraphGateway;
  audit: AuditTrail;
  policy: DisclosurePolicy;
  newId: () => string;
}

export function auditCallerOf(request: FastifyRequest): AuditCaller {
  const caller = request.caller;
  const userAgent = request.headers['user-agent'];
  return {
    kind: caller?.kind ?? 'app',
    appId: caller?.appId ?? null,
    oid: caller?.oid ?? null,
    upn: caller?.upn ?? null,
    name: caller?.name ?? null,
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : null,
  };
}

async function keydeskServices(app: FastifyInstance, options: KeyDeskServicesOptions): Promise<void> {
  const { graph, audit, policy, newId } = options;
  app.decorate('keydesk', {
    graph,
    audit,
    async disclose(request, body, caller = auditCallerOf(request)) {
      // The rules audit every outcome themselves (or fail with audit_unavailable).
      request.auditedOutcome = true;
      const logOutcome = (outcome: string, fields: Record<string, unknown>) =>
        request.log.info({ disclosure: { outcome, ticket: body.ticket, ...fields } }, `disclosure ${outcome}`);
      try {
        const granted = await discloseRecoveryKey(body, { caller, requestId: request.id }, { graph, audit, policy, newId });
        logOutcome('granted', {
          disclosureId: granted.disclosureId,
          deviceId: granted.device.deviceId,
          recoveryKeyId: granted.recoveryKey.id,
          graphRequestId: granted.graphRequestId,
          requester: granted.checks.requester,
        });
        return granted;
      } catch (error) {
        logOutcome(isProblem(error) && error.status < 500 ? 'refused' : 'failed', { code: isProblem(error) ? error.code : 'internal_error' });
        throw error;
      }
    },
    async recordEarlyRefusal(request, problem) {
      request.auditedOutcome = true;
      // The body did not pass validation (or was never read): nothing of it is trusted enough to keep.
      await audit.append(
        auditEntry({
          action: 'disclosure',
          outcome: problem.status >= 500 ? 'failed' : 'refused',
          code: problem.code,
          disclosureId: newId(),
          requestId: request.id,
          caller: auditCallerOf(request),
        }),
      );
    },
  } satisfies KeyDeskServices);
}

export default fp(keydeskServices, { name: 'keydesk-services', fastify: '5.x' });
