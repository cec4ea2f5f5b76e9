import { randomUUID } from 'node:crypto';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import type { AuditEntry, AuditFilter, AuditPage, AuditPageRequest, AuditRecord, AuditTrail, ExportedRecord } from '../../src/audit/types.js';
import { checkAuditFilter, decodeCursor, encodeCursor, foreignCursor, matchesAuditFilter, pageLimit } from '../../src/audit/query.js';
import type {
  Device,
  DeviceSearchResult,
  DirectoryUser,
  GraphGateway,
  IntuneRecord,
  RecoveryKeyMetadata,
  RecoveryPasswordRead,
} from '../../src/graph/types.js';

/**
 * In-memory stand-ins for the Graph gateway and the audit trail, for testing the disclosure rules
 * without HTTP. Both write to one shared `events` list, so a test can assert the order in which
 * things happened (the intent record before the key read, and so on).
 */

export interface FakeDirectory {
  devices: Device[];
  /** Users by UPN; a requester not listed here is looked up as unknown (null). */
  users?: DirectoryUser[];
  intune: Record<string, IntuneRecord>;
  keys: RecoveryKeyMetadata[];
  passwords: Record<string, string>;
}

export class FakeGraph implements GraphGateway {
  readonly calls: string[] = [];
  failWith: KeyDeskProblem | null = null;

  constructor(
    readonly directory: FakeDirectory,
    private readonly events: string[] = [],
  ) {}

  private record(call: string): void {
    this.calls.push(call);
    this.events.push(`graph:${call}`);
    if (this.failWith) throw this.failWith;
  }

  async findDevicesByName(name: string): Promise<DeviceSearchResult> {
    this.record(`findDevicesByName ${name}`);
    const devices = this.directory.devices.filter((d) => d.displayName === name);
    return { devices, capped: false, limit: 500 };
  }

  async findDevicesByPrefix(prefix: string): Promise<DeviceSearchResult> {
    this.record(`findDevicesByPrefix ${prefix}`);
    const devices = this.directory.devices.filter((d) => d.displayName.startsWith(prefix));
    return { devices, capped: false, limit: 500 };
  }

  async getDevice(deviceId: string): Promise<Device | null> {
    this.record(`getDevice ${deviceId}`);
    return this.directory.devices.find((d) => d.deviceId === deviceId) ?? null;
  }

  async getIntuneRecord(deviceId: string): Promise<IntuneRecord | null> {
    this.record(`getIntuneRecord ${deviceId}`);
    return this.directory.intune[deviceId] ?? null;
  }

  async findUserByUpn(upn: string): Promise<DirectoryUser | null> {
    this.record(`findUserByUpn ${upn}`);
    return this.directory.users?.find((u) => u.userPrincipalName.toLowerCase() === upn.toLowerCase()) ?? null;
  }

  async listRecoveryKeys(deviceId: string): Promise<RecoveryKeyMetadata[]> {
    this.record(`listRecoveryKeys ${deviceId}`);
    return this.directory.keys.filter((k) => k.deviceId === deviceId);
  }

  async readRecoveryPassword(keyId: string, clientRequestId: string): Promise<RecoveryPasswordRead> {
    this.record(`readRecoveryPassword ${keyId}`);
    const key = this.directory.keys.find((k) => k.id === keyId);
    const password = this.directory.passwords[keyId];
    if (!key || !password) throw new KeyDeskProblem('key_not_found', 'gone');
    return { recoveryKey: { ...key, key: password }, graphRequestId: `graph-${clientRequestId}` };
  }
}

export class MemoryAuditTrail implements AuditTrail {
  readonly records: AuditRecord[] = [];
  /** Appends numbered here (1-based) fail, e.g. new Set([2]) fails the second append. */
  failingAppends = new Set<number>();
  private appends = 0;

  constructor(private readonly events: string[] = []) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    this.appends += 1;
    if (this.failingAppends.has(this.appends)) {
      this.events.push(`audit-failed:${entry.action}`);
      throw new KeyDeskProblem('audit_unavailable', 'disk full');
    }
    const record: AuditRecord = {
      ...structuredClone(entry),
      seq: this.records.length + 1,
      id: randomUUID(),
      time: new Date().toISOString(),
      hashAlg: 'sha256',
      prevHash: '0'.repeat(64),
      hash: '0'.repeat(64),
    };
    this.records.push(record);
    this.events.push(`audit:${entry.action}:${entry.outcome}`);
    return record;
  }

  /** Newest first; the cursor is the seq of the last record shown, as the file trail's holds. */
  async query(filter: AuditFilter, page?: AuditPageRequest): Promise<AuditPage> {
    checkAuditFilter(filter);
    const limit = pageLimit(page);
    const before = page?.cursor ? memoryCursorSeq(page.cursor) : Number.POSITIVE_INFINITY;
    const matching = [...this.records].reverse().filter((record) => record.seq < before && matchesAuditFilter(record, filter));
    const records = matching.slice(0, limit);
    const nextCursor = matching.length > limit ? encodeCursor('memory', [records.at(-1)!.seq]) : null;
    return { records, nextCursor };
  }

  async findRecord(id: string): Promise<AuditRecord | null> {
    return this.records.find((record) => record.id === id) ?? null;
  }

  async *exportRecords(filter: AuditFilter): AsyncGenerator<ExportedRecord> {
    checkAuditFilter(filter);
    for (const record of this.records.filter((r) => matchesAuditFilter(r, filter))) yield { record, line: JSON.stringify(record) };
  }

  async isWritable(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}

/** The name the audit fake had before the port became AuditTrail; kept so older tests read on. */
export { MemoryAuditTrail as MemoryAuditSink };

function memoryCursorSeq(cursor: string): number {
  const [seq = ''] = decodeCursor('memory', cursor);
  if (!/^\d{1,15}$/.test(seq)) throw foreignCursor();
  return Number(seq);
}

export function device(overrides: Partial<Device> & Pick<Device, 'displayName'>): Device {
  return {
    id: randomUUID(),
    deviceId: randomUUID(),
    operatingSystem: 'Windows',
    operatingSystemVersion: '10.0.22631.4460',
    approximateLastSignInDateTime: '2026-11-20T08:15:00Z',
    trustType: 'AzureAd',
    isManaged: true,
    accountEnabled: true,
    registeredOwners: [],
    ...overrides,
  };
}

export function user(upn: string, overrides: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id: randomUUID(), userPrincipalName: upn, displayName: upn.split('@')[0] ?? upn, accountEnabled: true, ...overrides };
}

export function recoveryKey(deviceId: string, overrides: Partial<RecoveryKeyMetadata> = {}): RecoveryKeyMetadata {
  return { id: randomUUID(), deviceId, volumeType: 'operatingSystemVolume', createdDateTime: '2026-01-11T10:00:00Z', ...overrides };
}
