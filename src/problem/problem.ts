/**
 * The one error type KeyDesk raises for an expected refusal or failure. Its `code` is part of the
 * public API: ticketing integrations branch on it, so codes are never renamed.
 */
export const PROBLEM_CODES = {
  invalid_request: { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'A valid Entra access token is required' },
  reauthentication_required: { status: 401, title: 'A more recent sign-in is required' },
  step_up_required: { status: 401, title: 'The Conditional Access authentication context is required' },
  forbidden: { status: 403, title: 'Not allowed without the app role this needs' },
  app_token_required: { status: 403, title: 'The API accepts application tokens only' },
  csrf_invalid: { status: 403, title: 'The form did not come from a KeyDesk page' },
  not_found: { status: 404, title: 'No such resource' },
  device_not_found: { status: 404, title: 'No device matches' },
  signing_key_not_configured: { status: 404, title: 'No audit signing key is configured' },
  key_not_found: { status: 404, title: 'The device has no escrowed recovery key' },
  ambiguous_device: { status: 409, title: 'Several devices have that name' },
  ambiguous_key_id: { status: 409, title: 'The key ID matches more than one recovery key' },
  form_already_used: { status: 409, title: 'This form was already sent' },
  disclosure_not_granted: { status: 409, title: 'The disclosure did not give out a recovery password' },
  rotation_off: { status: 409, title: 'This KeyDesk does not rotate recovery keys' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  key_id_mismatch: { status: 422, title: 'The key ID matches no recovery key of this device' },
  requester_not_owner: { status: 422, title: 'The requester is not an owner or primary user of the device' },
  requester_disabled: { status: 422, title: "The requester's account is disabled" },
  device_disabled: { status: 422, title: 'The device is disabled in Entra ID' },
  invalid_ticket: { status: 422, title: 'The ticket reference is not in an accepted form' },
  comment_required: { status: 422, title: 'A comment is required for this reason' },
  agent_mismatch: { status: 422, title: "agentUpn is not the token's user" },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Unexpected error' },
  graph_permission_missing: { status: 502, title: 'KeyDesk lacks a Microsoft Graph permission' },
  graph_error: { status: 502, title: 'Microsoft Graph returned an unexpected answer' },
  graph_unavailable: { status: 503, title: 'Microsoft Graph is unavailable' },
  identity_provider_unavailable: { status: 503, title: 'Entra ID could not be reached' },
  audit_unavailable: { status: 503, title: 'The audit trail cannot be written' },
  notification_unavailable: { status: 503, title: 'A required notification could not be delivered' },
  shutting_down: { status: 503, title: 'KeyDesk is shutting down' },
  // Pages only: the API never reads a staff session.
  session_store_unavailable: { status: 503, title: 'The staff session store cannot be reached' },
  // The web UI's sign-in (pages only; never an API answer).
  sign_in_state_mismatch: { status: 400, title: 'This sign-in answer does not belong to this browser' },
  sign_in_refused_by_entra: { status: 401, title: 'Entra ID did not sign you in' },
  sign_in_code_rejected: { status: 401, title: "Entra ID's answer could not be redeemed" },
  sign_in_not_fresh: { status: 401, title: 'The sign-in is older than a reveal allows' },
  step_up_not_satisfied: { status: 403, title: 'Entra ID did not apply the authentication context' },
  // The self-service door (pages only).
  self_service_not_allowed: { status: 403, title: 'Self-service is not open to this account' },
  self_service_limit_reached: { status: 429, title: 'The daily self-service limit is reached' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

/**
 * Headers a code always carries unless the problem sets its own: a client refused because the
 * audit trail cannot be written is told when to try again (the trail's store usually comes back
 * within seconds, or the load balancer moves the client to another instance).
 */
const CODE_HEADERS: Partial<Record<ProblemCode, Record<string, string>>> = {
  audit_unavailable: { 'Retry-After': '5' },
  notification_unavailable: { 'Retry-After': '30' },
};

export const ALL_PROBLEM_CODES = Object.keys(PROBLEM_CODES) as ProblemCode[];

export interface ProblemOptions {
  /** Extra members of the problem document (RFC 9457 allows extensions), e.g. `candidates`. */
  extensions?: Record<string, unknown>;
  /** Response headers the problem needs, e.g. `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class KeyDeskProblem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ProblemCode, detail: string, options: ProblemOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyDeskProblem';
    this.code = code;
    this.status = PROBLEM_CODES[code].status;
    this.title = PROBLEM_CODES[code].title;
    this.detail = detail;
    this.extensions = options.extensions ?? {};
    this.headers = { ...CODE_HEADERS[code], ...options.headers };
  }

  /** The same problem with more members (e.g. the disclosureId and auditRecordId of its record). */
  withExtensions(extensions: Record<string, unknown>): KeyDeskProblem {
    return new KeyDeskProblem(this.code, this.detail, { extensions: { ...this.extensions, ...extensions }, headers: this.headers, cause: this.cause });
  }

  toJSON(instance?: string): Record<string, unknown> {
    return {
      type: `urn:keydesk:problem:${this.code}`,
      title: this.title,
      status: this.status,
      code: this.code,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export function isProblem(error: unknown): error is KeyDeskProblem {
  return error instanceof KeyDeskProblem;
}
