import type { ErrorObject } from 'ajv';
import { KeyDeskProblem, type ProblemCode } from '../problem/problem.js';
import { validationProblem } from '../problem/validation.js';
import { refusal, type RefusalFacts } from '../disclosure/wording.js';
import { parseDisclosureInput } from '../disclosure/input.js';
import { EXAMPLE } from './examples.js';
import { auditRecordNotFound } from '../audit/reading/audit-reader.js';

/**
 * One example of each problem, for /openapi.json: worded by the same templates the refusals use
 * (so an example cannot drift from what KeyDesk says), with the members and headers the real
 * answer carries. Codes that live elsewhere (authentication, Graph, the trail) are written out as
 * those modules word them.
 */

const FACTS: RefusalFacts = {
  deviceLabel: `name "${EXAMPLE.deviceName}"`,
  deviceName: EXAMPLE.deviceName,
  keyIdInput: EXAMPLE.keyIdInput,
  requesterUpn: EXAMPLE.requesterUpn,
  agentUpn: 'someone.else@contoso.com',
  tokenUser: EXAMPLE.agentUpn,
  ticket: 'see email',
  count: 2,
  retryAfterSeconds: 42,
  authContext: 'c1',
};

const RETRY_LATER = (seconds: number) => ({ headers: { 'retry-after': String(seconds) } });

/** The claims request of a step-up challenge for authentication context c1 (src/auth/sign-in-freshness.ts). */
const STEP_UP_CLAIMS = Buffer.from(JSON.stringify({ id_token: { acrs: { essential: true, value: 'c1' } }, access_token: { acrs: { essential: true, value: 'c1' } } })).toString('base64');

/** An `ambiguous_device` answer lists the devices sharing the name, so the caller can pick one. */
const CANDIDATES = [EXAMPLE.deviceId, EXAMPLE.otherDeviceId].map((deviceId, i) => ({
  deviceId,
  displayName: EXAMPLE.deviceName,
  operatingSystem: 'Windows',
  operatingSystemVersion: '10.0.22631.4460',
  approximateLastSignInDateTime: i === 0 ? EXAMPLE.lastSignInAt : '2025-03-02T16:40:00Z',
  owners: i === 0 ? [EXAMPLE.requesterUpn] : ['former.owner@contoso.com'],
}));

/**
 * Codes no API operation answers: the web UI's own (its forms and sign-in pages). Every other
 * code needs an example below, so a new code is either shown in the document or named here.
 */
type PageOnlyCode =
  | 'csrf_invalid'
  | 'form_already_used'
  | 'reauthentication_required'
  | 'sign_in_state_mismatch'
  | 'sign_in_refused_by_entra'
  | 'sign_in_code_rejected'
  | 'sign_in_not_fresh'
  | 'step_up_not_satisfied'
  | 'session_store_unavailable'
  | 'self_service_not_allowed'
  | 'self_service_limit_reached';

/** A code an API operation (or a probe) can answer. */
export type ApiProblemCode = Exclude<ProblemCode, PageOnlyCode>;

const EXAMPLES: Record<ApiProblemCode, () => KeyDeskProblem> = {
  invalid_request: () => inputProblem('querystring', 'minLength', '/prefix', { limit: 2 }),
  unauthorized: () =>
    new KeyDeskProblem('unauthorized', 'Send an Entra access token for KeyDesk\'s API as "Authorization: Bearer <token>".', { headers: { 'www-authenticate': 'Bearer' } }),
  step_up_required: () =>
    refusal('step_up_required', FACTS, {
      headers: {
        'www-authenticate': `Bearer error="insufficient_claims", error_description="The token lacks the authentication context c1", claims="${STEP_UP_CLAIMS}"`,
      },
    }),
  forbidden: () =>
    new KeyDeskProblem(
      'forbidden',
      "The caller holds no app role that allows this; it needs BitLocker.Disclose. An administrator assigns it under Enterprise applications > KeyDesk > Users and groups (or the app's API permissions for an application).",
    ),
  app_token_required: () => refusal('app_token_required'),
  not_found: () => auditRecordNotFound(),
  device_not_found: () => refusal('device_not_found', FACTS),
  key_not_found: () => refusal('key_not_found', FACTS),
  signing_key_not_configured: () =>
    new KeyDeskProblem('signing_key_not_configured', 'This KeyDesk signs no audit checkpoints: its operators have not set AUDIT_SIGNING_KEY_PATH.'),
  ambiguous_device: () => refusal('ambiguous_device', FACTS, { extensions: { candidates: CANDIDATES } }),
  ambiguous_key_id: () => refusal('ambiguous_key_id', FACTS),
  disclosure_not_granted: () => new KeyDeskProblem('disclosure_not_granted', `The disclosure ${EXAMPLE.disclosureId} did not give out a recovery password, so there is nothing to rotate.`),
  rotation_off: () =>
    new KeyDeskProblem('rotation_off', 'This KeyDesk does not rotate recovery keys (ROTATE_AFTER_DISCLOSURE=off). Rotate the key in Intune, or ask its operators to set ROTATE_AFTER_DISCLOSURE=request.'),
  payload_too_large: () => new KeyDeskProblem('payload_too_large', 'The request body is larger than KeyDesk accepts (BODY_LIMIT_BYTES).'),
  unsupported_media_type: () => new KeyDeskProblem('unsupported_media_type', 'Send the request body as application/json.'),
  key_id_mismatch: () => refusal('key_id_mismatch', FACTS),
  requester_not_owner: () => refusal('requester_not_owner', FACTS),
  requester_disabled: () => refusal('requester_disabled', FACTS),
  device_disabled: () => refusal('device_disabled', FACTS),
  invalid_ticket: () => refusal('invalid_ticket', FACTS),
  comment_required: () => refusal('comment_required'),
  agent_mismatch: () => refusal('agent_mismatch', FACTS),
  rate_limited: () => refusal('rate_limited', FACTS, RETRY_LATER(42)),
  internal_error: () => new KeyDeskProblem('internal_error', 'KeyDesk met an unexpected error. The request id in the logs identifies it.'),
  graph_permission_missing: () =>
    new KeyDeskProblem(
      'graph_permission_missing',
      "Microsoft Graph refused to let KeyDesk list the device's BitLocker recovery keys (403 Authorization_RequestDenied): grant KeyDesk's app registration the application permission BitlockerKey.Read.All and grant admin consent for it.",
      { extensions: { graphRequestId: EXAMPLE.graphRequestId } },
    ),
  graph_error: () =>
    new KeyDeskProblem('graph_error', "Microsoft Graph could not list the device's BitLocker recovery keys (500 generalException).", { extensions: { graphRequestId: EXAMPLE.graphRequestId } }),
  graph_unavailable: () =>
    new KeyDeskProblem(
      'graph_unavailable',
      'Microsoft Graph throttled KeyDesk (429); KeyDesk gave up after 3 attempts within its 10000 ms retry budget. Try again in 30 s.',
      { ...RETRY_LATER(30), extensions: { graphAttempts: 3, graphFailure: 'throttled' } },
    ),
  identity_provider_unavailable: () =>
    new KeyDeskProblem('identity_provider_unavailable', 'The signing keys of Entra ID could not be fetched to verify the token.', RETRY_LATER(5)),
  audit_unavailable: () =>
    new KeyDeskProblem(
      'audit_unavailable',
      'The audit trail could not record this request, so KeyDesk will not disclose. Try again shortly; if it persists, tell the KeyDesk operators (the audit disk may be full or failing).',
    ),
  notification_unavailable: () =>
    new KeyDeskProblem(
      'notification_unavailable',
      'KeyDesk must tell the security team before it discloses a key, and its required notification (webhook) did not answer within 5000 ms. The attempt is recorded as failed and no key was read; try again later.',
    ),
  shutting_down: () => new KeyDeskProblem('shutting_down', 'KeyDesk is restarting or shutting down; retry in a moment.', RETRY_LATER(2)),
};

/** An example answer with `code`. */
export function exampleProblem(code: ApiProblemCode): KeyDeskProblem {
  return EXAMPLES[code]();
}

/** An `invalid_request` for one failed keyword, as KeyDesk words Fastify's validation of a query string or path. */
export function inputProblem(location: 'querystring' | 'params', keyword: string, instancePath: string, params: Record<string, unknown>): KeyDeskProblem {
  const error: ErrorObject = { keyword, instancePath, params, schemaPath: `#/properties${instancePath}/${keyword}` };
  return validationProblem([error], location);
}

/** The disclosure's `invalid_request` for a misspelt member, as the one intake words it. */
export function invalidDisclosureExample(): KeyDeskProblem {
  const { deviceName, keyIdInput: keyId, ticket, requesterUpn } = EXAMPLE;
  try {
    parseDisclosureInput({ devicename: deviceName, keyId, ticket, reason: 'forgotten_pin', requesterUpn }, 'body');
  } catch (problem) {
    if (problem instanceof KeyDeskProblem) return problem;
    throw problem;
  }
  throw new Error('a misspelt member was accepted');
}
