import { isObject, stringOrNull, type Json } from './graph-answers.js';
import type { EntraKeyRead, KeyReadInitiator } from './types.js';

/**
 * Entra's directoryAudit entries, read leniently: Microsoft Sentinel's "BitLocker Key Retrieval"
 * query takes the key ID from `targetResources[0].displayName`, which tenants have seen as the bare
 * GUID and as text around it ("BitLocker Key ID: <guid>"), so the first GUID in it is the key ID;
 * the target's `id` and an `additionalDetails` entry naming a key ID are the fall-backs.
 */

const GUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export const KEY_READ_ACTIVITY = 'Read BitLocker key';
export const KEY_MANAGEMENT_CATEGORY = 'KeyManagement';

function guidIn(value: unknown): string | null {
  return typeof value === 'string' ? (GUID_IN_TEXT.exec(value)?.[0]?.toLowerCase() ?? null) : null;
}

function details(raw: Json): { key: string; value: string }[] {
  const list = Array.isArray(raw.additionalDetails) ? raw.additionalDetails : [];
  return list.filter(isObject).map((entry) => ({ key: stringOrNull(entry.key) ?? '', value: stringOrNull(entry.value) ?? '' }));
}

function keyIdOf(raw: Json): string | null {
  const targets = Array.isArray(raw.targetResources) ? raw.targetResources : [];
  const first: unknown = targets[0];
  const target = isObject(first) ? first : {};
  const fromDetails = details(raw).find((entry) => /key\s*id/i.test(entry.key));
  return guidIn(target.displayName) ?? guidIn(target.id) ?? guidIn(fromDetails?.value);
}

function initiatorOf(raw: Json): KeyReadInitiator {
  const by = isObject(raw.initiatedBy) ? raw.initiatedBy : {};
  const app = isObject(by.app) ? by.app : null;
  const user = isObject(by.user) ? by.user : null;
  const appId = stringOrNull(app?.appId);
  const upn = stringOrNull(user?.userPrincipalName);
  return {
    kind: upn !== null || stringOrNull(user?.id) !== null ? 'user' : appId !== null ? 'app' : 'unknown',
    appId,
    servicePrincipalId: stringOrNull(app?.servicePrincipalId),
    userPrincipalName: upn,
    userId: stringOrNull(user?.id),
    displayName: stringOrNull(user?.displayName) ?? stringOrNull(app?.displayName),
    ipAddress: stringOrNull(user?.ipAddress) ?? stringOrNull(app?.ipAddress),
  };
}

/** One "Read BitLocker key" event; null for anything else (another activity or category, no id or time). */
export function toKeyRead(raw: unknown): EntraKeyRead | null {
  if (!isObject(raw)) return null;
  const id = stringOrNull(raw.id);
  const time = stringOrNull(raw.activityDateTime);
  if (id === null || time === null || Number.isNaN(Date.parse(time))) return null;
  if (stringOrNull(raw.activityDisplayName) !== KEY_READ_ACTIVITY) return null;
  const category = stringOrNull(raw.category);
  if (category !== null && category !== KEY_MANAGEMENT_CATEGORY) return null;
  const detailIds = details(raw)
    .map((entry) => guidIn(entry.value))
    .filter((value): value is string => value !== null);
  return {
    entraEventId: id,
    activityDateTime: new Date(time).toISOString(),
    keyId: keyIdOf(raw),
    initiatedBy: initiatorOf(raw),
    correlationId: guidIn(raw.correlationId),
    detailIds: [...new Set(detailIds)],
    result: stringOrNull(raw.result),
  };
}
