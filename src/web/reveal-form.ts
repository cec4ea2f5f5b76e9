import type { StaffUser } from '../auth/staff-session.js';
import { DISCLOSURE_REASONS } from '../disclosure/input.js';
import { passwordShapedPaths } from '../disclosure/password-shaped.js';
import { REASONS } from './device-text.js';
import { html, type SafeHtml } from './html.js';

/**
 * The disclosure form of the web UI and how it maps onto the one input contract
 * (src/disclosure/input.ts): Key ID → keyId, Requester → requesterUpn, the device from the URL,
 * the signed-in staff member as agentUpn. The form itself adds only its CSRF and one-time tokens.
 */

export interface RevealForm {
  keyId: string;
  requester: string;
  ticket: string;
  reason: string;
  comment: string;
}

export const EMPTY_FORM: RevealForm = { keyId: '', requester: '', ticket: '', reason: '', comment: '' };

/** The form fields of a posted body, as sent (anything else in it is ignored). */
export function pickForm(fields: Partial<Record<keyof RevealForm, unknown>> | null | undefined): RevealForm {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return { keyId: text(fields?.keyId), requester: text(fields?.requester), ticket: text(fields?.ticket), reason: text(fields?.reason), comment: text(fields?.comment) };
}

/** The form as a page shows it again: a field holding something shaped like a recovery password comes back empty, never echoed. */
export function shownForm<F extends { [K in keyof F]: string }>(form: F): F {
  const shown = { ...form };
  for (const name of Object.keys(shown) as (keyof F)[]) if (passwordShapedPaths(shown[name]).length > 0) shown[name] = '' as F[keyof F];
  return shown;
}

/** The form as the disclosure contract's input: what the API's body would be for the same request. */
export function disclosureInputOf(deviceId: string, form: RevealForm, staff: StaffUser): Record<string, string> {
  const comment = form.comment.trim();
  return {
    deviceId,
    keyId: form.keyId.trim(),
    ticket: form.ticket.trim(),
    reason: form.reason,
    requesterUpn: form.requester.trim(),
    agentUpn: staff.upn,
    ...(comment !== '' ? { comment } : {}),
  };
}

function field(id: string, label: string, hint: string, input: SafeHtml): SafeHtml {
  return html`<div class="field"><label for="${id}">${label} <span class="hint" id="${id}-hint">${hint}</span></label>
${input}</div>
`;
}

function reasonOptions(chosen: string): SafeHtml {
  return html`<option value=""${chosen === '' ? html` selected` : ''}>Choose a reason</option>
${DISCLOSURE_REASONS.map((reason) => html`<option value="${reason}"${chosen === reason ? html` selected` : ''}>${REASONS[reason]}</option>\n`)}`;
}

export function disclosureFormHtml(deviceId: string, form: RevealForm, tokens: { csrf: string; form: string }): SafeHtml {
  return html`<form method="post" action="/devices/${encodeURIComponent(deviceId)}/reveal" autocomplete="off" class="disclosure-form">
<input type="hidden" name="_csrf" value="${tokens.csrf}">
<input type="hidden" name="formToken" value="${tokens.form}">
${field('key-id', 'Key ID', 'Ask the caller to read it off the recovery screen ("Recovery key ID"): at least the first 8 characters.', html`<input id="key-id" name="keyId" required minlength="8" maxlength="40" spellcheck="false" autocapitalize="characters" aria-describedby="key-id-hint" value="${form.keyId}">`)}
${field('requester', 'Requester', 'The employee asking for the key: type their user principal name as they give it.', html`<input id="requester" name="requester" type="email" required maxlength="113" spellcheck="false" autocapitalize="none" aria-describedby="requester-hint" value="${form.requester}">`)}
${field('ticket', 'Ticket', 'The helpdesk ticket this disclosure is made under.', html`<input id="ticket" name="ticket" required maxlength="64" aria-describedby="ticket-hint" value="${form.ticket}">`)}
${field('reason', 'Reason', 'Why the device asks for its recovery key.', html`<select id="reason" name="reason" required aria-describedby="reason-hint">${reasonOptions(form.reason)}</select>`)}
${field('comment', 'Comment', 'Required when the reason is "Other".', html`<textarea id="comment" name="comment" rows="3" maxlength="1000" aria-describedby="comment-hint">${form.comment}</textarea>`)}
<button type="submit">Reveal the recovery password</button>
</form>`;
}
