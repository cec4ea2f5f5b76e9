import type { FastifyRequest } from 'fastify';
import type { ReaderContext } from '../audit/reading/audit-reader.js';
import type { AuditCaller } from '../audit/types.js';

/** Who a request comes from, as the audit trail names them: an app, or a person. */
export interface CallerIdentity {
  kind: 'app' | 'user';
  appId: string | null;
  oid: string | null;
  upn: string | null;
  name: string | null;
}

export function auditCallerOf(identity: CallerIdentity, request: FastifyRequest): AuditCaller {
  const userAgent = request.headers['user-agent'];
  return {
    kind: identity.kind,
    appId: identity.appId,
    oid: identity.oid,
    upn: identity.upn,
    name: identity.name,
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : null,
  };
}

/** Who reads the trail, for the record an auditor's query or export leaves. */
export function readerContextOf(identity: CallerIdentity, via: ReaderContext['via'], request: FastifyRequest): ReaderContext {
  return { caller: auditCallerOf(identity, request), via, requestId: request.id, callerRequestId: request.callerRequestId };
}

/** The reader behind an API request: its caller (the auth hook set it), or an unnamed app before that. */
export function apiReaderOf(request: FastifyRequest): ReaderContext {
  return readerContextOf(request.caller ?? { kind: 'app', appId: null, oid: null, upn: null, name: null }, 'api', request);
}
