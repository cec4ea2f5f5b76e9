import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';

/** The reconciliation of KeyDesk's disclosures with Entra's audit log, as the API serves it. */

const Instant = Type.String({ format: 'date-time' });

export const KeyReadInitiatorSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('app'), Type.Literal('user'), Type.Literal('unknown')]),
    appId: Nullable(Type.String()),
    servicePrincipalId: Nullable(Type.String()),
    userPrincipalName: Nullable(Type.String()),
    userId: Nullable(Type.String()),
    displayName: Nullable(Type.String()),
    ipAddress: Nullable(Type.String()),
  },
  { additionalProperties: false, description: "Who read the key, as Entra's `initiatedBy` names them" },
);

export const ReconcileRunSchema = Type.Object(
  {
    startedAt: Instant,
    finishedAt: Instant,
    windowFrom: Type.String({ format: 'date-time', description: "Start of the window of Entra's log read (inclusive)" }),
    windowTo: Type.String({ format: 'date-time', description: 'End of the window (inclusive)' }),
    events: Type.Integer({ minimum: 0, description: '"Read BitLocker key" events Entra returned for the window' }),
    newEvents: Type.Integer({ minimum: 0, description: 'Of those, the ones not stored before' }),
    outOfBand: Type.Integer({ minimum: 0, description: 'New out-of-band reads found' }),
    error: Nullable(Type.String({ description: 'Why the run failed (a problem code and its detail)' })),
  },
  { additionalProperties: false },
);

export const OutOfBandReadSchema = Type.Object(
  {
    entraEventId: Type.String({ description: "The directoryAudit's id" }),
    activityDateTime: Instant,
    keyId: Nullable(Type.String()),
    deviceId: Nullable(Type.String()),
    deviceName: Nullable(Type.String()),
    initiatedBy: KeyReadInitiatorSchema,
    reportedRecordId: Nullable(Type.String({ description: 'The `out_of_band_read` audit record written for it, once' })),
  },
  { additionalProperties: false },
);

export const MissingInEntraSchema = Type.Object(
  {
    disclosureId: Type.String(),
    auditRecordId: Type.String({ description: 'The granted `disclosure` record' }),
    time: Instant,
    recoveryKeyId: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

export const ReconciliationResponse = Type.Object(
  {
    lastRun: Nullable(ReconcileRunSchema),
    running: Type.Boolean({ description: 'A run holds the lease now (on any instance)' }),
    coveredFrom: Nullable(Type.String({ format: 'date-time', description: "Earliest instant of Entra's log read by a successful run" })),
    coveredTo: Nullable(Type.String({ format: 'date-time', description: 'Latest instant read' })),
    coveredSpans: Type.Array(
      Type.Object({ from: Instant, to: Instant }, { additionalProperties: false }),
      {
        description:
          "The stretches of Entra's log read without a break, oldest first. A gap means reconciliation stopped for longer than Entra keeps events: nothing in it is judged missing in Entra.",
      },
    ),
    outOfBand: Type.Array(OutOfBandReadSchema, { description: 'Reads of recovery keys in Entra\'s log that no KeyDesk intent accounts for, oldest first' }),
    missingInEntra: Type.Array(MissingInEntraSchema, { description: 'Granted disclosures with no Entra event after RECONCILE_GRACE_MINUTES, oldest first' }),
  },
  { additionalProperties: false },
);
export type ReconciliationResponseBody = Static<typeof ReconciliationResponse>;

export const ReconciliationQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ maxLength: 40, description: 'Only events and disclosures at or after this time: an ISO 8601 date (midnight UTC) or date and time with a zone, as for audit records', examples: ['2026-11-01'] }),
    ),
    to: Type.Optional(Type.String({ maxLength: 40, description: 'Only events and disclosures before this time (exclusive), as `from`', examples: ['2026-12-01'] })),
  },
  { additionalProperties: false },
);

export const ReconciliationRunResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('started'), Type.Literal('already_running')], {
      description: '`started`: a run began on this instance; `already_running`: one is under way (here or on another instance), and its result will show in `lastRun`',
    }),
  },
  { additionalProperties: false },
);
