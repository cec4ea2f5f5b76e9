import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';
import { DisclosureChecksSchema } from './checks.js';

/**
 * The audit record, as a schema: the shape the stores write, `query` returns and the audit API
 * will serve. Nothing here ever holds a recovery password (only the key ID of the key concerned).
 * Records written before a field existed lack it: readers see null (see `normaliseAuditRecord`).
 */

export const AuditActionSchema = Type.Union([
  /** Written and made durable before a recovery password is read from Graph. */
  Type.Literal('disclosure_intent'),
  /** The outcome of one disclosure attempt: granted, refused or failed. */
  Type.Literal('disclosure'),
  /** The store found a torn last line at start-up, moved it aside and continued the chain. */
  Type.Literal('chain_recovered'),
  /** A staff member's sign-in to the web UI through Entra: granted, or refused with a code. */
  Type.Literal('sign_in'),
  /** A staff member signed out of the web UI. */
  Type.Literal('sign_out'),
  /** An auditor read records through the audit API or pages (filters and row count in details). */
  Type.Literal('audit_query'),
  /** An auditor exported records as CSV or JSON Lines (filters, format and row count in details). */
  Type.Literal('audit_export'),
  /** An alert rule fired (`details.rule`, the subject and the window); notified like any event. */
  Type.Literal('alert'),
  /** Entra's log holds a read of a recovery key that no KeyDesk disclosure accounts for. */
  Type.Literal('out_of_band_read'),
  /** Someone started a sync of the key-ID index from Graph's tenant-wide key list (`details.status`: started or already_running). */
  Type.Literal('key_index_sync'),
  /** A rotation of a disclosed recovery password changed state (`outcome`: requested, pending, done, failed, not_supported, overdue). */
  Type.Literal('rotation'),
]);
export type AuditAction = Static<typeof AuditActionSchema>;

export const AuditOutcomeSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('granted'),
  Type.Literal('refused'),
  Type.Literal('failed'),
  Type.Literal('recovered'),
  /** An alert record: a rule fired. */
  Type.Literal('raised'),
  /** A record of something KeyDesk saw happen elsewhere (an out-of-band key read in Entra's log). */
  Type.Literal('observed'),
  /** A rotation's states (action `rotation`): asked of Intune, accepted, a new key escrowed, failed, impossible, late. */
  Type.Literal('requested'),
  Type.Literal('done'),
  Type.Literal('not_supported'),
  Type.Literal('overdue'),
]);
export type AuditOutcome = Static<typeof AuditOutcomeSchema>;

/** Which door a disclosure attempt came through. */
export const DoorSchema = Type.Union([Type.Literal('api'), Type.Literal('web'), Type.Literal('self_service')]);
export type Door = Static<typeof DoorSchema>;

export const AuditCallerSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('app'), Type.Literal('user')]),
    /** Application (client) id of the calling app: `azp` (v2) or `appid` (v1); KeyDesk's own for the web UI. */
    appId: Nullable(Type.String()),
    /** Object id of the service principal or user. */
    oid: Nullable(Type.String()),
    upn: Nullable(Type.String()),
    name: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
  },
  { $id: 'AuditCaller', additionalProperties: false },
);
export type AuditCaller = Static<typeof AuditCallerSchema>;

export const AuditDeviceSchema = Type.Object(
  {
    id: Nullable(Type.String()),
    deviceId: Nullable(Type.String()),
    displayName: Nullable(Type.String()),
  },
  { $id: 'AuditDevice', additionalProperties: false },
);
export type AuditDevice = Static<typeof AuditDeviceSchema>;

/** What the caller of `append` supplies; the store adds seq, id, time, hashAlg, prevHash, hash. */
export const AuditEntrySchema = Type.Object(
  {
    action: AuditActionSchema,
    outcome: AuditOutcomeSchema,
    /** The problem code of a refusal or failure; null when granted or pending. */
    code: Nullable(Type.String()),
    /** The door of a disclosure attempt (api, web or self_service); null for other records. */
    door: Nullable(DoorSchema),
    /** Links the intent and the outcome of one disclosure; also returned to the caller. */
    disclosureId: Nullable(Type.String()),
    /** KeyDesk's own id of the request (its x-request-id). */
    requestId: Nullable(Type.String()),
    /** The caller's own x-request-id, when it looked like one. */
    callerRequestId: Nullable(Type.String()),
    caller: Nullable(AuditCallerSchema),
    agentUpn: Nullable(Type.String()),
    requesterUpn: Nullable(Type.String()),
    ticket: Nullable(Type.String()),
    reason: Nullable(Type.String()),
    comment: Nullable(Type.String()),
    device: Nullable(AuditDeviceSchema),
    /** Full key ID (GUID) of the recovery key concerned, once known. */
    recoveryKeyId: Nullable(Type.String()),
    /** What the caller typed as key ID (from the recovery screen); never a password. */
    keyIdInput: Nullable(Type.String()),
    checks: Nullable(DisclosureChecksSchema),
    /** `client-request-id` KeyDesk sent to Graph for the key read. */
    graphClientRequestId: Nullable(Type.String()),
    /** Graph's `request-id` for the key read. */
    graphRequestId: Nullable(Type.String()),
    /** Free-form details for non-disclosure records (e.g. chain recovery, sign-in); never secrets. */
    details: Nullable(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'AuditEntry', additionalProperties: false },
);
export type AuditEntry = Static<typeof AuditEntrySchema>;

export const AuditRecordSchema = Type.Intersect(
  [
    Type.Object({
      seq: Type.Integer({ minimum: 1 }),
      id: Type.String(),
      time: Type.String({ format: 'date-time' }),
    }),
    AuditEntrySchema,
    Type.Object({
      /** 'sha256' or 'hmac-sha256' (keyed with AUDIT_HMAC_KEY). */
      hashAlg: Type.Union([Type.Literal('sha256'), Type.Literal('hmac-sha256')]),
      prevHash: Type.String(),
      hash: Type.String(),
    }),
  ],
  { $id: 'AuditRecord' },
);
export type AuditRecord = Static<typeof AuditRecordSchema>;

/** The members of an entry in the order the stores write them. */
export const AUDIT_ENTRY_FIELDS = Object.keys(AuditEntrySchema.properties) as (keyof AuditEntry)[];
