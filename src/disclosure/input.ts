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

const DeviceIdSchema = Type.String({ pattern: GUID_PATTERN, description: 'The Entra device ID (a GUID)', examples: ['6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'] });
const KeyIdSchema = Type.String({
  minLength: MIN_KEY_ID_DIGITS,
  maxLength: 40,
  pattern: KEY_ID_PATTERN,
  description: 'The recovery key ID read off the recovery screen: at least its first 8 hex digits, or the whole ID',
  examples: ['1A2B3C4D'],
});
const CommentSchema = Type.String({ maxLength: 1000, description: 'Required with reason `other`', examples: ['Replaced the motherboard'] });

export const DisclosureInputSchema = Type.Object(
  {
    deviceName: Type.Optional(DeviceNameSchema),
    deviceId: Type.Optional(DeviceIdSchema),
    keyId: KeyIdSchema,
    ticket: Type.String({ minLength: 1, maxLength: 64, description: 'The helpdesk ticket reference (TICKET_PATTERN)', examples: ['INC0012345'] }),
    reason: DisclosureReasonSchema,
    requesterUpn: upn('The locked-out employee: a registered owner or the Intune primary user of the device', 'ann.lee@contoso.com'),
    agentUpn: Type.Optional(upn('The helpdesk agent working the ticket', 'sam.agent@contoso.com')),
    comment: Type.Optional(CommentSchema),
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
export type StaffDisclosureInput = Static<typeof DisclosureInputSchema>;

/**
 * The self-service door's contract: an employee asks for a key of their own device, so there is
 * no ticket and no agent, and the device is always named by its ID (the employee picked it from
 * their own list); the requester is the signed-in employee.
 */
export const SelfServiceInputSchema = Type.Object(
  {
    deviceId: DeviceIdSchema,
    keyId: KeyIdSchema,
    reason: DisclosureReasonSchema,
    requesterUpn: upn('The signed-in employee, who must own the device or be its Intune primary user', 'ann.lee@contoso.com'),
    comment: Type.Optional(CommentSchema),
  },
  { $id: 'SelfServiceDisclosure', additionalProperties: false },
);
export type SelfServiceInput = Static<typeof SelfServiceInputSchema> & { deviceName?: undefined; ticket?: undefined; agentUpn?: undefined };

/** What the intake has once the door's input passed that door's contract. */
export type DisclosureInput = StaffDisclosureInput | SelfServiceInput;

/** Which contract a door's input must meet. */
export type InputContract = 'staff' | 'self_service';

const validators = new Map<InputContract, ValidateFunction>();

function validate(raw: unknown, contract: InputContract): ValidateFunction {
  let validator = validators.get(contract);
  if (!validator) {
    validator = addFormats.default(new Ajv({ allErrors: true, verbose: true, coerceTypes: false, strict: false })).compile(contract === 'staff' ? DisclosureInputSchema : SelfServiceInputSchema);
    validators.set(contract, validator);
  }
  validator(raw);
  return validator;
}

/** The input if it fits the contract; else `invalid_request`, each problem named (`errors`). */
export function parseDisclosureInput(raw: unknown, location: string, contract: InputContract = 'staff'): DisclosureInput {
  const pasted = passwordShapedProblem(raw, location);
  if (pasted) throw pasted;
  const check = validate(raw, contract);
  if (check.errors && check.errors.length > 0) throw validationProblem(check.errors, location);
  return raw as DisclosureInput;
}

/** The input if it fits the contract, for recording alongside a refusal made before it was read; else null. */
export function trustedInput(raw: unknown, contract: InputContract = 'staff'): DisclosureInput | null {
  if (passwordShapedPaths(raw).length > 0) return null;
  const check = validate(raw, contract);
  return check.errors && check.errors.length > 0 ? null : (raw as DisclosureInput);
}
