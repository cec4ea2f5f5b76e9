import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';

/**
 * What the checks of one disclosure established: the same object in the API's answer, in the
 * domain result and in the audit record. A check not reached (the attempt stopped earlier) is null.
 */

/** passed; failed (refused); warned (a `warn` policy let it through); skipped (the policy is off, or it could not apply). */
export const CheckVerdictSchema = Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Literal('warned'), Type.Literal('skipped')]);
export type CheckVerdict = Static<typeof CheckVerdictSchema>;

export const RequesterMatchSchema = Type.Union([Type.Literal('registered_owner'), Type.Literal('primary_user')]);
export type RequesterMatch = Static<typeof RequesterMatchSchema>;

export const DisclosureChecksSchema = Type.Object(
  {
    ticket: Nullable(Type.Boolean({ description: 'The ticket reference matched TICKET_PATTERN' })),
    reason: Nullable(Type.Boolean({ description: 'The reason was given (with a comment for "other")' })),
    deviceResolved: Nullable(Type.Boolean({ description: 'Exactly one device was found' })),
    deviceEnabled: Nullable(Type.Union([CheckVerdictSchema], { description: "The device's Entra account is enabled (DISABLED_DEVICE_CHECK)" })),
    keyIdMatched: Nullable(Type.Boolean({ description: 'The key ID read off the recovery screen matched exactly one key' })),
    requester: Nullable(Type.Union([CheckVerdictSchema], { description: 'The requester owns the device or is its Intune primary user (REQUESTER_CHECK)' })),
    requesterMatchedAs: Nullable(RequesterMatchSchema),
    requesterEnabled: Nullable(Type.Union([CheckVerdictSchema], { description: "The matched requester's account is enabled (DISABLED_REQUESTER_CHECK)" })),
  },
  { $id: 'DisclosureChecks', additionalProperties: false },
);
export type DisclosureChecks = Static<typeof DisclosureChecksSchema>;

export function noChecksYet(): DisclosureChecks {
  return {
    ticket: null,
    reason: null,
    deviceResolved: null,
    deviceEnabled: null,
    keyIdMatched: null,
    requester: null,
    requesterMatchedAs: null,
    requesterEnabled: null,
  };
}
