import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import Type, { type Static } from 'typebox';
import { GUID_PATTERN } from '../schemas/common.js';
import { DeviceNameSchema } from '../schemas/device.js';
import { validationProblem } from '../problem/validation.js';
import { passwordShapedPaths, passwordShapedProblem } from './password-shaped.js';

/**
 * The one input contract of a disclosure, whichever door it comes through: the API's JSON body
 * is this object; the web UI's form is mapped onto it. The schema documents it (OpenAPI), types it
 * (Static) and validates it (here), so the two doors cannot drift apart.
 */

export const DISCLOSURE_REASONS = [
  'forgotten_pin',
  'tpm_or_firmware_change',
  'boot_configuration_change',
  'hardware_change',
  'os_update',
  'other',
] as const;

export const DisclosureReasonSchema = Type.Enum([...DISCLOSURE_REASONS], {
  description: 'Why the device asks for its recovery key; `other` needs a comment',
  examples: ['forgotten_pin'],
});
export type DisclosureReason = Static<typeof DisclosureReasonSchema>;

/** The fewest hex digits of a key ID that prove the caller is reading the recovery screen. */
export const MIN_KEY_ID_DIGITS = 8;

/** 8 to 32 hex digits, hyphens between them as the screen or a GUID groups them. */
export const KEY_ID_PATTERN = '^(?:[0-9a-fA-F]-?){7,31}[0-9a-fA-F]$';

/** Like a device name, no control characters or lone surrogates; and no space or second @. */
const UPN_PART = '[^\\s@\\u0000-\\u001f\\u007f\\ud800-\\udfff]+';

const upn = (description: string, example: string) => Type.String({ minLength: 3, maxLength: 113, pattern: `^${UPN_PART}@${UPN_PART}$`, description, examples: [example] });

const BY_DEVICE_NAME = { deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: 'ann.lee@contoso.com', agentUpn: 'sam.agent@contoso.com' };
const BY_DEVICE_ID = {
  deviceId: '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f',
  keyId: '1A2B3C4D',
  ticket: 'INC0012345',
  reason: 'other',
  comment: 'Replaced the motherboard',
  requesterUpn: 'ann.lee@contoso.com',
};

const BY_KEY_ID = { keyId: '1A2B3C4D-5E6F-4A1B-8C2D-3E4F5A6B7C8D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: 'ann.lee@contoso.com' };

export const DisclosureInputSchema = Type.Object(
  {
    deviceName: Type.Optional(DeviceNameSchema),
    deviceId: Type.Optional(Type.String({ pattern: GUID_PATTERN, description: 'The Entra device ID (a GUID)', examples: ['6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'] })),
    keyId: Type.String({
      minLength: MIN_KEY_ID_DIGITS,
      maxLength: 40,
      pattern: KEY_ID_PATTERN,
      description: 'The recovery key ID read off the recovery screen: at least its first 8 hex digits, or the whole ID',
      examples: ['1A2B3C4D'],
    }),
    ticket: Type.String({ minLength: 1, maxLength: 64, description: 'The helpdesk ticket reference (TICKET_PATTERN)', examples: ['INC0012345'] }),
    reason: DisclosureReasonSchema,
    requesterUpn: upn('The locked-out employee: a registered owner or the Intune primary user of the device', 'ann.lee@contoso.com'),
    agentUpn: Type.Optional(upn('The helpdesk agent working the ticket', 'sam.agent@contoso.com')),
    comment: Type.Optional(Type.String({ maxLength: 1000, description: 'Required with reason `other`', examples: ['Replaced the motherboard'] })),
  },
  {
    $id: 'DisclosureRequest',
    additionalProperties: false,
    description:
      'At most one of deviceName or deviceId. With neither, the key ID finds the device through the key index (give the whole key ID, or as many digits as the screen shows); Graph confirms the device before anything is read.',
    // Named in properties too: a schema that requires what it does not define confuses OpenAPI tools.
    not: { required: ['deviceName', 'deviceId'], properties: { deviceName: {}, deviceId: {} } },
    examples: [BY_DEVICE_NAME, BY_DEVICE_ID, BY_KEY_ID],
    // Named examples for /openapi.json (OpenAPI's Example Objects); the same two requests.
    'x-examples': {
      byDeviceName: { summary: 'By device name', value: BY_DEVICE_NAME },
      byDeviceId: { summary: 'By device ID, after an ambiguous_device answer', value: BY_DEVICE_ID },
      byKeyId: { summary: 'By key ID alone, found through the key index', value: BY_KEY_ID },
    },
  },
);
export type DisclosureInput = Static<typeof DisclosureInputSchema>;

let validator: ValidateFunction | null = null;

function validate(raw: unknown): ValidateFunction {
  validator ??= addFormats.default(new Ajv({ allErrors: true, verbose: true, coerceTypes: false, strict: false })).compile(DisclosureInputSchema);
  validator(raw);
  return validator;
}

/** The input if it fits the contract; else `invalid_request`, each problem named (`errors`). */
export function parseDisclosureInput(raw: unknown, location: string): DisclosureInput {
  const pasted = passwordShapedProblem(raw, location);
  if (pasted) throw pasted;
  const check = validate(raw);
  if (check.errors && check.errors.length > 0) throw validationProblem(check.errors, location);
  return raw as DisclosureInput;
}

/** The input if it fits the contract, for recording alongside a refusal made before it was read; else null. */
export function trustedInput(raw: unknown): DisclosureInput | null {
  if (passwordShapedPaths(raw).length > 0) return null;
  const check = validate(raw);
  return check.errors && check.errors.length > 0 ? null : (raw as DisclosureInput);
}
