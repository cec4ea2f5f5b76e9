import { KeyDeskProblem, type ProblemCode, type ProblemOptions } from '../problem/problem.js';

/**
 * What a refusal or a warning says, one template per code, filled with the facts of the attempt.
 * The API's `detail` and the web UI's page show the same words: neither door writes its own.
 * Each says what happened and what the agent can do next.
 */

export interface RefusalFacts {
  /** The device as the request named it ("name \"LAPTOP-ANN\"" or "device ID …") before it was resolved. */
  deviceLabel?: string;
  deviceName?: string;
  keyIdInput?: string;
  requesterUpn?: string;
  ticket?: string;
  count?: number;
  retryAfterSeconds?: number;
  authContext?: string;
  maxAgeSeconds?: number;
  agentUpn?: string;
  tokenUser?: string;
  /** A rate-limited request of a disclosure route, which is recorded like any attempt. */
  recorded?: boolean;
  /** TICKET_PATTERN is not the default, so the default's examples would mislead. */
  customTicketPattern?: boolean;
}

type Template = (facts: RefusalFacts) => string;

const quoted = (text: string | undefined) => JSON.stringify(text ?? '');
const upperKeyId = (facts: RefusalFacts) => (facts.keyIdInput ?? '').toUpperCase();
const minutes = (seconds: number | undefined) => {
  const m = Math.max(1, Math.round((seconds ?? 0) / 60));
  return `${m} minute${m === 1 ? '' : 's'}`;
};

const REFUSALS = {
  invalid_ticket: (f) =>
    `The ticket reference ${quoted(f.ticket)} is not in an accepted form${f.customTicketPattern ? ' (TICKET_PATTERN)' : ' (for example INC0012345, SD-1234 or 12345)'}. Give the reference of the helpdesk ticket this disclosure is made under.`,
  comment_required: () => 'The reason "other" needs a comment that says why the recovery key is needed.',
  device_not_found: (f) => `No device with the ${f.deviceLabel} exists in the directory. Check the spelling with the caller, or search by prefix.`,
  ambiguous_device: (f) => `${f.count} devices are named ${quoted(f.deviceName)}. Ask the caller which one they are at and retry with its deviceId.`,
  device_disabled: (f) =>
    `${f.deviceName} is disabled in Entra ID (it may have been reported lost or stolen), so nothing was disclosed. Check with the security team before going further.`,
  key_not_found: (f) =>
    `No BitLocker recovery key is escrowed in Entra ID for ${f.deviceName}. The key may be held elsewhere (on-premises AD, a printout or the user's Microsoft account).`,
  key_id_mismatch: (f) =>
    `The key ID ${upperKeyId(f)} does not match any recovery key of ${f.deviceName}. Ask the caller to read the recovery key ID on the screen again.`,
  ambiguous_key_id: (f) =>
    `The key ID ${upperKeyId(f)} matches ${f.count} recovery keys of ${f.deviceName}. Ask the caller for more digits of the recovery key ID.`,
  requester_not_owner: (f) =>
    `${f.requesterUpn} is neither a registered owner nor the Intune primary user of ${f.deviceName}. Confirm the caller's identity and the device; if the device changed hands, have its owner updated first.`,
  requester_disabled: (f) =>
    `${f.requesterUpn}'s account is disabled in Entra ID (a leaver, say), so nothing was disclosed for ${f.deviceName}. Confirm who is calling; if the device changed hands, have its owner updated first.`,
  rate_limited: (f) =>
    `Too many requests in a minute. Wait ${f.retryAfterSeconds ?? 60} seconds and try again${f.recorded ? '; every attempt is in the audit trail' : ''}.`,
  csrf_invalid: () => 'This form did not come from a KeyDesk page open in this browser, or it has expired. Open the page again and send the form anew.',
  form_already_used: () =>
    'This form was already sent (a reload, or going back and sending it again). Each form is good for one attempt, and a recovery password is shown once, in answer to the form that asked for it. Open the device page and fill in the form anew.',
  reauthentication_required: (f) =>
    `Revealing a recovery password needs a sign-in from the last ${minutes(f.maxAgeSeconds)}. Sign in again with Entra ID; the form comes back as you filled it.`,
  step_up_required: (f) =>
    `Revealing a recovery password needs the Conditional Access authentication context ${f.authContext}. Complete the extra sign-in step Entra ID asks for, then try again.`,
  app_token_required: () =>
    "KeyDesk's API accepts application tokens (client credentials) only, and this one was issued to a person through a client app. Call the API with the ticketing system's own client-credentials token; staff use the web UI.",
  agent_mismatch: (f) =>
    `agentUpn ${quoted(f.agentUpn)} is not the person this token was issued to (${f.tokenUser}). Leave agentUpn out, or send the token's own user.`,
} satisfies Partial<Record<ProblemCode, Template>>;

export type RefusalCode = keyof typeof REFUSALS;

/** The refusal for `code`, worded from `facts`. */
export function refusal(code: RefusalCode, facts: RefusalFacts = {}, options: ProblemOptions = {}): KeyDeskProblem {
  return new KeyDeskProblem(code, REFUSALS[code](facts), options);
}

/** Something a `warn` policy let through: disclosed, with this said and recorded. */
export interface DisclosureWarning {
  code: 'requester_not_owner' | 'device_disabled' | 'requester_disabled';
  detail: string;
}

const WARNINGS: Record<DisclosureWarning['code'], Template> = {
  requester_not_owner: (f) =>
    `${f.requesterUpn} is neither a registered owner nor the Intune primary user of ${f.deviceName}; disclosed because REQUESTER_CHECK=warn. The mismatch is in the audit record.`,
  device_disabled: (f) =>
    `${f.deviceName} is disabled in Entra ID (it may have been reported lost or stolen); disclosed because DISABLED_DEVICE_CHECK=warn. Tell the security team.`,
  requester_disabled: (f) =>
    `${f.requesterUpn}'s account is disabled in Entra ID; disclosed because DISABLED_REQUESTER_CHECK=warn. Confirm who is calling.`,
};

export function warning(code: DisclosureWarning['code'], facts: RefusalFacts): DisclosureWarning {
  return { code, detail: WARNINGS[code](facts) };
}
