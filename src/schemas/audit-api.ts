import Type, { type Static, type TSchema } from 'typebox';
import { DEFAULT_API_AUDIT_PAGE, MAX_AUDIT_PAGE, type AuditFilter } from '../audit/types.js';
import { AuditActionSchema, AuditEntrySchema, AuditOutcomeSchema, DoorSchema } from './audit.js';
import { Nullable } from './common.js';
import { EXAMPLE } from './examples.js';

/** The audit API's query, its answers, and the chain verification it reports. */

const text = (description: string, example: string) => Type.String({ minLength: 1, maxLength: 256, description, examples: [example] });

/** A literal union as one string enum, so the document and the validation errors list its values. */
const enumOf = (schema: { anyOf: { const: string }[] }, description: string, example: string) =>
  Type.Enum(schema.anyOf.map((branch) => branch.const), { description, examples: [example] });

/** The audit port's filters (AuditFilter): every member optional, combined with AND. */
export const AuditFilterQuery = {
  from: Type.String({ maxLength: 40, description: 'Records at or after this time: an ISO 8601 date (midnight UTC) or date and time with a zone', examples: ['2026-11-01'] }),
  to: Type.String({ maxLength: 40, description: 'Records before this time (exclusive), as `from`', examples: ['2026-12-01'] }),
  action: enumOf(AuditActionSchema as never, 'The kind of record', 'disclosure'),
  outcome: enumOf(AuditOutcomeSchema as never, 'granted, refused, failed, pending, …', 'granted'),
  code: text('The problem code of a refusal or failure', 'requester_not_owner'),
  door: enumOf(DoorSchema as never, 'api, web or self_service: the door of a disclosure attempt', 'api'),
  disclosureId: text('One disclosure attempt (its intent and outcome records)', EXAMPLE.disclosureId),
  caller: text("The caller's object id, UPN or app id", EXAMPLE.agentUpn),
  agentUpn: text('The helpdesk agent named in the disclosure', EXAMPLE.agentUpn),
  requesterUpn: text('The person the key was disclosed for', EXAMPLE.requesterUpn),
  deviceId: text("The device's Entra device ID", EXAMPLE.deviceId),
  deviceName: text("The device's display name (exact, case-insensitive)", EXAMPLE.deviceName),
  recoveryKeyId: text('The full recovery key ID', EXAMPLE.recoveryKeyId),
  ticket: text('The ticket reference (exact)', EXAMPLE.ticket),
};

export type ExportFormat = 'csv' | 'jsonl';

export const AuditRecordsQuery = Type.Object(
  {
    ...Object.fromEntries(Object.entries(AuditFilterQuery).map(([name, schema]) => [name, Type.Optional(schema)])),
    limit: Type.Optional(
      Type.String({ pattern: '^(?:[1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)$', description: `Records per page, a whole number from 1 to ${MAX_AUDIT_PAGE}; default ${DEFAULT_API_AUDIT_PAGE}. Ignored by an export.`, examples: ['100'] }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 256, description: 'nextCursor of the previous page, exactly as received', examples: ['ZmlsZToxMjM6NDU2Nzg6MGFiY2RlZjAxMjM0NTY3OA'] })),
    format: Type.Optional(Type.Enum(['csv', 'jsonl'], { description: 'Export every match (ignoring limit and cursor) as a download, oldest first; or send Accept: text/csv or application/x-ndjson', examples: ['csv'] })),
  },
  { additionalProperties: false },
) as TSchema;

export interface AuditRecordsQueryType extends Partial<Record<keyof typeof AuditFilterQuery, string>> {
  limit?: string;
  cursor?: string;
  format?: ExportFormat;
}

/** The query string's filters, as the audit port takes them. */
export function filterOf(query: AuditRecordsQueryType): AuditFilter {
  const { limit: _limit, cursor: _cursor, format: _format, ...filter } = query;
  return filter as AuditFilter;
}

export const AuditRecordIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: "The record's id", examples: [EXAMPLE.auditRecordId] }) }, { additionalProperties: false });

/** The record as served: the stored record's schema, with no nested ids (those belong to the record as stored). */
function servedRecordSchema(): TSchema {
  const plain = JSON.parse(JSON.stringify(AuditEntrySchema.properties, (key, value: unknown) => (key === '$id' ? undefined : value))) as Record<string, TSchema>;
  return Type.Object(
    {
      seq: Type.Integer({ minimum: 1, examples: [1042] }),
      id: Type.String({ examples: [EXAMPLE.auditRecordId] }),
      time: Type.String({ format: 'date-time', examples: ['2026-11-20T09:31:02.114Z'] }),
      ...plain,
      checks: Nullable(Type.Ref('DisclosureChecks')),
      hashAlg: Type.Enum(['sha256', 'hmac-sha256'], { examples: ['hmac-sha256'] }),
      prevHash: Type.String({ examples: ['0'.repeat(64)] }),
      hash: Type.String({ examples: ['9c1f2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0'] }),
    },
    { $id: 'AuditRecord', additionalProperties: false, description: 'One audit record, as the trail holds it (never a recovery password)' },
  );
}

export const AuditRecordServedSchema = servedRecordSchema();

export const AuditRecordsPage = Type.Object(
  {
    records: Type.Array(Type.Ref('AuditRecord'), { description: 'Newest first' }),
    nextCursor: Nullable(Type.String(), { description: 'Pass as cursor for the next (older) page; null at the end' }),
  },
  { additionalProperties: false, description: 'One page of matching records' },
);

const ChainHeadSchema = Type.Object({ seq: Type.Integer({ minimum: 0, examples: [1042] }), hash: Type.String({ examples: ['9c1f2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0'] }) }, { additionalProperties: false });

export const ChainVerificationSchema = Type.Object(
  {
    intact: Nullable(Type.Boolean(), { description: 'Every record verified; null before the first verification', examples: [true] }),
    records: Nullable(Type.Integer({ minimum: 0 }), { description: 'Records verified (before the first broken one)', examples: [1042] }),
    head: Nullable(ChainHeadSchema, { description: 'The last record of an intact chain' }),
    firstBroken: Nullable(
      Type.Object(
        { line: Type.Integer({ minimum: 1 }), seq: Nullable(Type.Integer()), reason: Type.String({ examples: ['the hash does not match the record: it was edited'] }) },
        { additionalProperties: false },
      ),
      { description: 'Where the chain breaks; null when intact' },
    ),
    verifiedAt: Nullable(Type.String({ format: 'date-time' }), { description: 'When the verification finished; null: none has yet', examples: ['2026-12-01T09:30:00.000Z'] }),
    checkpoint: Nullable(
      Type.Object(
        {
          seq: Type.Integer({ minimum: 1, examples: [1040] }),
          hash: Type.String(),
          time: Type.String({ format: 'date-time' }),
          agrees: Nullable(Type.Boolean(), { description: 'The chain reaches the checkpoint with its hash and the signature verifies; null without AUDIT_SIGNING_KEY_PATH', examples: [true] }),
          problem: Nullable(Type.String(), { description: 'Why it does not agree' }),
        },
        { additionalProperties: false },
      ),
      { description: 'The newest signed checkpoint and whether the chain agrees with it; null when there is none' },
    ),
  },
  { additionalProperties: false, description: "The leader's latest background verification of the audit chain" },
);
export type ChainVerificationAnswer = Static<typeof ChainVerificationSchema>;
