import type { KeyDeskConfig } from '../config/config.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { isObject, stringOrNull } from './graph-answers.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import type { GraphLogger } from './graph-call.js';
import { GraphRequests, problemFor, type Operation } from './graph-requests.js';
import { KEY_READ_ACTIVITY, toKeyRead } from './directory-audit-answers.js';
import { odataString, pathSegment, queryString } from './odata.js';
import { RequestPacer } from './request-pacer.js';
import type { EntraAuditLog, EntraKeyRead } from './types.js';

/**
 * Entra's audit log of recovery-key reads, through the same Graph client set-up (token provider,
 * bounded retries honouring Retry-After) as the gateway, paced at Microsoft's documented limit for
 * the audit log API: 5 requests per 10 s.
 */

export const AUDIT_LOG_REQUESTS = { limit: 5, windowMs: 10_000 } as const;

/** Stops a runaway paging loop; a window this full is refused rather than half-read. */
const KEY_READ_LIMIT = 100_000;

const LIST_KEY_READS: Operation = {
  name: 'listDirectoryAudits',
  what: "read Entra's audit log of recovery-key reads",
  permission: 'AuditLog.Read.All and Directory.Read.All',
};
const GET_KEY_DEVICE: Operation = { name: 'getRecoveryKeyDevice', what: 'find the device of a recovery key', permission: 'BitlockerKey.Read.All' };

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EntraAuditLogOptions {
  logger: GraphLogger;
  tokenProvider: GraphClientOptions['authenticationProvider'];
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** A DateTimeOffset literal for $filter: unquoted in OData, so only a checked ISO instant goes in. */
function instant(value: string): string {
  if (!ISO_INSTANT.test(value)) throw new TypeError(`not an ISO 8601 UTC instant: ${value}`);
  return value;
}

export function keyReadsPath(window: { from: string; to: string }): string {
  // Category KeyManagement is checked on each entry (toKeyRead): the activity name alone is the documented filter.
  const filter = `activityDisplayName eq ${odataString(KEY_READ_ACTIVITY)} and activityDateTime ge ${instant(window.from)} and activityDateTime le ${instant(window.to)}`;
  return `auditLogs/directoryAudits${queryString({ $filter: filter })}`;
}

export function createEntraAuditLog(config: Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>, options: EntraAuditLogOptions): EntraAuditLog {
  const client = createGraphClient(config, {
    logger: options.logger,
    authenticationProvider: options.tokenProvider,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const pacer = new RequestPacer({ ...AUDIT_LOG_REQUESTS, ...(options.now ? { now: options.now } : {}), ...(options.sleep ? { sleep: options.sleep } : {}) });
  const requests = new GraphRequests(client, config.graphBaseUrl, () => pacer.take());
  return {
    async listKeyReads(window) {
      const { items, capped } = await requests.collect(LIST_KEY_READS, keyReadsPath(window), KEY_READ_LIMIT, null);
      if (capped) throw new KeyDeskProblem('graph_error', `Entra's audit log holds more than ${KEY_READ_LIMIT} key reads in one window; KeyDesk reconciles no partial window.`);
      return items.map(toKeyRead).filter((read): read is EntraKeyRead => read !== null);
    },
    async deviceIdOfKey(keyId) {
      if (!GUID.test(keyId)) return null;
      // No $select: any $select (not only $select=key) makes Entra log a key read of its own.
      const answer = await requests.get(GET_KEY_DEVICE, `informationProtection/bitlocker/recoveryKeys/${pathSegment(keyId)}`, null);
      if (answer.status === 404) return null;
      if (answer.status !== 200) throw problemFor(GET_KEY_DEVICE, answer);
      return isObject(answer.body) ? stringOrNull(answer.body.deviceId) : null;
    },
  };
}
