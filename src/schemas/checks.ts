import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';

/**
 * What the checks of one disclosure established: the same object in the API's answer, in the
 * domain result and in the audit record. A check not reached (the attempt stopped earlier) is null.
 */

/** passed; failed (refused); warned (a `warn` policy let it through); skipped (the policy is off, or it could not apply). */
export const CheckVerdictSchema = Type.Enum(['passed', 'failed', 'warned', 'skipped'], { examples: ['passed'] });
export type CheckVerdict = Static<typeof CheckVerdictSchema>;

export const RequesterMatchSchema = Type.Enum(['registered_owner', 'primary_user'], { examples: ['registered_owner'] });
export type RequesterMatch = Static<typeof RequesterMatchSchema>;

export const DisclosureChecksSchema = Type.Object(
  {
    ticket: Nullable(Type.Boolean({ examples: [true] }), { description: 'The ticket reference matched TICKET_PATTERN' }),
    reason: Nullable(Type.Boolean({ examples: [true] }), { description: 'The reason was given (with a comment for "other")' }),
    deviceResolved: Nullable(Type.Boolean({ examples: [true] }), { description: 'Exactly one device was found' }),
    deviceEnabled: Nullable(CheckVerdictSchema, { description: "The device's Entra account is enabled (DISABLED_DEVICE_CHECK)" }),
    keyIdMatched: Nullable(Type.Boolean({ examples: [true] }), { description: 'The key ID read off the recovery screen matched exactly one key' }),
    requester: Nullable(CheckVerdictSchema, { description: 'The requester owns the device or is its Intune primary user (REQUESTER_CHECK)' }),
    requesterMatchedAs: Nullable(RequesterMatchSchema, { description: 'How the requester is tied to the device: a registered owner, or its Intune primary user' }),
    requesterEnabled: Nullable(CheckVerdictSchema, { description: "The matched requester's account is enabled (DISABLED_REQUESTER_CHECK)" }),
  },
  { $id: 'DisclosureChecks', additionalProperties: false, description: 'What the checks of one disclosure established; null for a check the attempt did not reach' },
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
