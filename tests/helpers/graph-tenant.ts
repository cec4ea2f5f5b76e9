import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { graphError } from './graph-fixtures.js';

/**
 * A small tenant served by nock at the Graph HTTP boundary, answering the queries KeyDesk makes in
 * Graph's shapes (numeric-string volume types, `$expand`ed owners, Intune's "" for no primary
 * user). Every request is logged, so tests can count round trips and see what Graph was asked.
 */

export const GRAPH_ROOT = 'https://graph.microsoft.com';

export interface TenantUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  accountEnabled?: boolean;
  /** The user's mailbox, where a disclosure notice to them goes; none unless given. */
  mail?: string;
}

export interface TenantDevice {
  id: string;
  deviceId: string;
  displayName: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  approximateLastSignInDateTime: string;
  owners: TenantUser[];
  /** Intune primary user's UPN; undefined when Intune does not manage the device. */
  primaryUserUpn?: string;
  /** False for a disabled device; enabled by default. */
  accountEnabled?: boolean;
}

export interface TenantKey {
  id: string;
  deviceId: string;
  volumeType: '1' | '2' | '3';
  createdDateTime: string;
  key: string;
}

export interface GraphRequestLog {
  method: string;
  path: string;
  /** The query as Graph decodes it. */
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

export interface MockTenant {
  devices: TenantDevice[];
  keys: TenantKey[];
  requests: GraphRequestLog[];
  /** Requests that read a recovery password (`$select=key`). */
  keyReads(): GraphRequestLog[];
}

export function user(upn: string, extra: Partial<TenantUser> = {}): TenantUser {
  return { id: randomUUID(), userPrincipalName: upn, displayName: upn.split('@')[0]!, accountEnabled: true, ...extra };
}

export function tenantDevice(displayName: string, owners: TenantUser[], extra: Partial<TenantDevice> = {}): TenantDevice {
  return {
    id: randomUUID(),
    deviceId: randomUUID(),
    displayName,
    operatingSystem: 'Windows',
    operatingSystemVersion: '10.0.22631.4460',
    approximateLastSignInDateTime: '2026-11-20T08:15:00Z',
    owners,
    ...extra,
  };
}

function literal(filter: string, pattern: RegExp): string | null {
  const match = filter.match(pattern);
  return match ? match[1]!.replaceAll("''", "'") : null;
}

function graphDevice(device: TenantDevice) {
  return {
    id: device.id,
    deviceId: device.deviceId,
    displayName: device.displayName,
    operatingSystem: device.operatingSystem,
    operatingSystemVersion: device.operatingSystemVersion,
    approximateLastSignInDateTime: device.approximateLastSignInDateTime,
    trustType: 'AzureAd',
    isManaged: device.primaryUserUpn !== undefined,
    accountEnabled: device.accountEnabled ?? true,
    registeredOwners: device.owners.map((owner) => ({ '@odata.type': '#microsoft.graph.user', ...owner })),
  };
}

/** The directory's users: every owner, every primary user, and any others named. */
function usersOf(devices: TenantDevice[], others: TenantUser[]): TenantUser[] {
  const byUpn = new Map<string, TenantUser>();
  for (const one of [...others, ...devices.flatMap((d) => d.owners)]) byUpn.set(one.userPrincipalName.toLowerCase(), one);
  for (const d of devices) if (d.primaryUserUpn && !byUpn.has(d.primaryUserUpn.toLowerCase())) byUpn.set(d.primaryUserUpn.toLowerCase(), user(d.primaryUserUpn));
  return [...byUpn.values()];
}

export function mockGraphTenant(devices: TenantDevice[], keys: TenantKey[], otherUsers: TenantUser[] = []): MockTenant {
  const tenant: MockTenant = {
    devices,
    keys,
    requests: [],
    keyReads: () => tenant.requests.filter((r) => r.query.get('$select') === 'key'),
  };
  const ok = (body: object) => [200, body, { 'request-id': randomUUID(), 'content-type': 'application/json' }] as const;

  nock(GRAPH_ROOT)
    .persist()
    .get(() => true)
    .reply(function (uri) {
      const url = new URL(uri, GRAPH_ROOT);
      const query = url.searchParams;
      tenant.requests.push({ method: 'GET', path: url.pathname, query, headers: { ...this.req.headers } });
      const filter = query.get('$filter') ?? '';

      if (url.pathname === '/v1.0/devices') {
        const name = literal(filter, /^displayName eq '((?:[^']|'')*)'$/);
        const prefix = literal(filter, /^startswith\(displayName,'((?:[^']|'')*)'\)$/);
        const deviceId = literal(filter, /^deviceId eq '((?:[^']|'')*)'$/);
        if (name === null && prefix === null && deviceId === null) return [400, graphError('Request_UnsupportedQuery', 'Unsupported query.')];
        const found = devices.filter((d) =>
          name !== null ? d.displayName === name : prefix !== null ? d.displayName.startsWith(prefix) : d.deviceId === deviceId,
        );
        return ok({ '@odata.context': `${GRAPH_ROOT}/v1.0/$metadata#devices`, value: found.map(graphDevice) });
      }
      if (url.pathname === '/v1.0/deviceManagement/managedDevices') {
        const deviceId = literal(filter, /^azureADDeviceId eq '((?:[^']|'')*)'$/);
        const found = devices.filter((d) => d.deviceId === deviceId && d.primaryUserUpn !== undefined);
        return ok({
          value: found.map((d) => ({
            id: randomUUID(),
            deviceName: d.displayName,
            userPrincipalName: d.primaryUserUpn ?? '',
            userId: randomUUID(),
            lastSyncDateTime: '2026-11-24T07:00:00Z',
          })),
        });
      }
      if (url.pathname === '/v1.0/users') {
        const upn = literal(filter, /^userPrincipalName eq '((?:[^']|'')*)'$/);
        if (upn === null) return [400, graphError('Request_UnsupportedQuery', 'Unsupported query.')];
        const found = usersOf(devices, otherUsers).filter((u) => u.userPrincipalName.toLowerCase() === upn.toLowerCase());
        return ok({ value: found.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName, displayName: u.displayName, accountEnabled: u.accountEnabled ?? true, ...(u.mail ? { mail: u.mail } : {}) })) });
      }
      if (url.pathname === '/v1.0/informationProtection/bitlocker/recoveryKeys') {
        const deviceId = literal(filter, /^deviceId eq '((?:[^']|'')*)'$/);
        if (deviceId === null) return [400, graphError('BadRequest', 'Only deviceId eq filter is supported.')];
        return ok({
          value: keys
            .filter((k) => k.deviceId === deviceId)
            .map(({ key: _secret, ...metadata }) => metadata),
        });
      }
      const keyPath = url.pathname.match(/^\/v1\.0\/informationProtection\/bitlocker\/recoveryKeys\/([^/]+)$/);
      if (keyPath) {
        const found = keys.find((k) => k.id === decodeURIComponent(keyPath[1]!));
        if (!found) return [404, graphError('Request_ResourceNotFound', 'Not found.')];
        const { key, ...metadata } = found;
        return ok(query.get('$select') === 'key' ? { ...metadata, key } : metadata);
      }
      return [404, graphError('Request_ResourceNotFound', `No route for ${url.pathname}`)];
    });
  return tenant;
}
