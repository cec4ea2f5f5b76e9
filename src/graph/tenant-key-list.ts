import type { KeyDeskConfig } from '../config/config.js';
import { toKeyMetadata } from './graph-answers.js';
import { createGraphClient, type GraphClientOptions } from './graph-client.js';
import type { GraphLogger } from './graph-call.js';
import { GraphRequests, unexpectedAnswer, type Operation } from './graph-requests.js';
import { RequestPacer } from './request-pacer.js';
import type { RecoveryKeyMetadata } from './types.js';

/**
 * Graph's tenant-wide recovery key list (`GET …/recoveryKeys` without a `$filter`): the metadata
 * of every escrowed key, paged by `@odata.nextLink` only (the list takes no `$top`), never a
 * recovery password. Never with `$select`: any `$select` on a recovery key makes Entra write a key
 * read of its own. Paced client-side, and with a retry budget long enough to honour any
 * Retry-After a 429 names: nobody waits on the phone for a background sync.
 */

/** How long one page may keep being retried (429 Retry-After waits included) before the sync fails. */
export const SYNC_RETRY_BUDGET_MS = 15 * 60_000;
export const KEY_LIST_WINDOW_MS = 10_000;

const LIST_TENANT_KEYS: Operation = { name: 'listTenantRecoveryKeys', what: "list the tenant's BitLocker recovery keys", permission: 'BitlockerKey.ReadBasic.All' };
const FIRST_PAGE = 'informationProtection/bitlocker/recoveryKeys';

export interface TenantKeyList {
  /** Reads every page in order, handing each to `onPage` before asking for the next. */
  readAll(onPage: (keys: RecoveryKeyMetadata[]) => Promise<void>): Promise<void>;
}

export interface TenantKeyListOptions {
  logger: GraphLogger;
  tokenProvider: GraphClientOptions['authenticationProvider'];
  requestsPer10s: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function createTenantKeyList(config: Pick<KeyDeskConfig, 'graphBaseUrl' | 'graph'>, options: TenantKeyListOptions): TenantKeyList {
  const timing = { ...(options.now ? { now: options.now } : {}), ...(options.sleep ? { sleep: options.sleep } : {}) };
  const client = createGraphClient(
    { graphBaseUrl: config.graphBaseUrl, graph: { ...config.graph, retryBudgetMs: SYNC_RETRY_BUDGET_MS } },
    { logger: options.logger, authenticationProvider: options.tokenProvider, retry: { maxAttempts: 20, maxDelayMs: 60_000 }, ...timing },
  );
  const pacer = new RequestPacer({ limit: options.requestsPer10s, windowMs: KEY_LIST_WINDOW_MS, ...timing });
  const requests = new GraphRequests(client, config.graphBaseUrl, () => pacer.take());
  const versionRoot = `${config.graphBaseUrl}/v1.0/`;
  return {
    async readAll(onPage) {
      let target: string | null = FIRST_PAGE;
      while (target !== null) {
        const { value, answer } = await requests.getList(LIST_TENANT_KEYS, target, null);
        await onPage(value.map((raw) => toKeyMetadata(raw, '')).filter((key): key is RecoveryKeyMetadata => key !== null && key.deviceId !== ''));
        const nextLink = answer.body?.['@odata.nextLink'];
        if (typeof nextLink !== 'string') return;
        // The SDK would send KeyDesk's token to whatever Graph host a nextLink names.
        if (!nextLink.startsWith(versionRoot)) throw unexpectedAnswer(LIST_TENANT_KEYS, answer, 'a next page outside the configured Graph base URL');
        target = nextLink;
      }
    },
  };
}
