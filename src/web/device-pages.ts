import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_ROLES } from '../auth/access-token.js';
import { auditEntry } from '../audit/entry.js';
import type { WebConfig } from '../config/config.js';
import type { GrantedDisclosure } from '../disclosure/disclose.js';
import { listDeviceRecoveryKeys, type DeviceRecoveryKeys } from '../disclosure/lookup.js';
import { DISCLOSURE_REASONS, type DisclosureReason } from '../disclosure/rules.js';
import { KeyDeskProblem, isProblem } from '../problem/problem.js';
import { KEY_PAGE_SCRIPT_PATH } from './assets.js';
import { REASONS, VOLUME_TYPES, formatDateTime, keyIdAsOnScreen, ownersOf } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, messagePage, viewerOf, type PageViewer } from './pages.js';
import { checkRevealSignIn } from './sign-in-freshness.js';
import { staffAuditCaller, staffHasRole, type StaffUser } from './staff-session.js';
import { randomBytes } from 'node:crypto';

/**
 * The device page (its key IDs and the disclosure form) and the reveal: the same rules and audit
 * trail as the API, with the signed-in staff member as the caller. The key page is the reveal
 * POST's response and nothing else: the password is never stored, never in a URL, and a reload
 * re-posts a form whose one-time token is already used.
 */

declare module 'fastify' {
  interface Session {
    /** The one-time token of the disclosure form last shown; a reveal consumes it. */
    revealFormToken?: string;
  }
}

export interface RevealForm {
  keyId: string;
  requester: string;
  ticket: string;
  reason: string;
  comment: string;
}

interface RevealBody extends Partial<RevealForm> {
  _csrf?: string;
  formToken?: string;
}

export interface DevicePagesOptions {
  web: WebConfig;
  /** Conditional Access authentication context a reveal needs in `acrs` (KeyDeskConfig.requiredAuthContext). */
  requiredAuthContext: string | null;
  now: () => number;
  /** Reveal attempts per staff member per minute. */
  revealsPerMinute: number;
}

/** What a helpdesk agent can do about each refusal, in their words. */
const EXPLANATIONS: Record<string, string> = {
  key_id_mismatch: 'The key ID does not match any key of this device — ask the caller to read it again from the recovery screen (the "Recovery key ID" line).',
  ambiguous_key_id: 'The key ID matches more than one key of this device — ask the caller for more characters of the recovery key ID.',
  requester_not_owner: 'The requester is neither an owner nor the Intune primary user of this device — confirm who is calling and that this is their device; if it changed hands, have its owner updated first.',
  invalid_ticket: 'The ticket reference is not in an accepted form — give the reference of the helpdesk ticket (for example INC0012345, SD-1234 or 12345).',
  comment_required: 'The reason "Other" needs a comment — say why the recovery key is needed.',
  key_not_found: 'No recovery key of this device is stored in Entra ID — the key may be held elsewhere (on-premises AD, a printout, or the user\'s Microsoft account).',
  device_not_found: 'This device no longer exists in the directory — search for it again.',
  invalid_request: 'The form is incomplete or not valid — check the key ID (at least its first 8 characters) and the other fields.',
  graph_unavailable: 'Microsoft Graph could not be reached, so nothing was disclosed — wait a minute and try again.',
  graph_error: 'Microsoft Graph gave an unexpected answer, so nothing was disclosed — try again; if it persists, tell KeyDesk\'s administrators.',
  graph_permission_missing: 'KeyDesk lacks a Microsoft Graph permission — tell KeyDesk\'s administrators; nothing was disclosed.',
  audit_unavailable: 'The audit trail cannot be written, so KeyDesk will not disclose — try again shortly; if it persists, tell KeyDesk\'s administrators.',
};

function explain(problem: KeyDeskProblem): string {
  return EXPLANATIONS[problem.code] ?? problem.detail;
}

function emptyForm(data: DeviceRecoveryKeys): RevealForm {
  return { keyId: '', requester: data.intune?.primaryUserUpn || data.device.registeredOwners[0]?.userPrincipalName || '', ticket: '', reason: '', comment: '' };
}

function field(id: string, label: string, hint: string, input: SafeHtml): SafeHtml {
  return html`<label for="${id}">${label} <span class="hint" id="${id}-hint">${hint}</span></label>
${input}
`;
}

function disclosureForm(deviceId: string, form: RevealForm, csrfToken: string, formToken: string): SafeHtml {
  return html`<form method="post" action="/devices/${encodeURIComponent(deviceId)}/reveal" autocomplete="off">
<input type="hidden" name="_csrf" value="${csrfToken}">
<input type="hidden" name="formToken" value="${formToken}">
${field('key-id', 'Key ID', 'What the employee reads off the recovery screen: at least the first 8 characters.', html`<input id="key-id" name="keyId" required minlength="8" maxlength="40" spellcheck="false" aria-describedby="key-id-hint" value="${form.keyId}">`)}
${field('requester', 'Requester', 'The employee asking for the key (user principal name).', html`<input id="requester" name="requester" type="email" required maxlength="256" aria-describedby="requester-hint" value="${form.requester}">`)}
${field('ticket', 'Ticket', 'The helpdesk ticket this disclosure is made under.', html`<input id="ticket" name="ticket" required maxlength="64" aria-describedby="ticket-hint" value="${form.ticket}">`)}
${field(
  'reason',
  'Reason',
  'Why the device asks for its recovery key.',
  html`<select id="reason" name="reason" required aria-describedby="reason-hint">
<option value=""${form.reason === '' ? html` selected` : ''}>Choose a reason</option>
${DISCLOSURE_REASONS.map((reason) => html`<option value="${reason}"${form.reason === reason ? html` selected` : ''}>${REASONS[reason]}</option>\n`)}</select>`,
)}
${field('comment', 'Comment', 'Required when the reason is "Other".', html`<textarea id="comment" name="comment" rows="3" maxlength="1000" aria-describedby="comment-hint">${form.comment}</textarea>`)}
<button type="submit">Reveal the recovery password</button>
</form>`;
}

function devicePage(options: { staff: StaffUser; viewer: PageViewer | null; data: DeviceRecoveryKeys; form: RevealForm; csrfToken: string; formToken: string; refusal: KeyDeskProblem | null }): string {
  const { staff, data, refusal } = options;
  const { device, intune, recoveryKeys } = data;
  const canDisclose = staffHasRole(staff, APP_ROLES.disclose);
  const body = html`<h1>${device.displayName}</h1>
${refusal ? html`<div class="refusal" role="alert"><h2>Not disclosed</h2><p>${explain(refusal)}</p><p class="code">Code: <code>${refusal.code}</code></p></div>` : ''}
<dl>
<dt>Operating system</dt><dd>${[device.operatingSystem, device.operatingSystemVersion].filter(Boolean).join(' ') || 'unknown'}</dd>
<dt>Last sign-in</dt><dd>${formatDateTime(device.approximateLastSignInDateTime)}</dd>
<dt>Owners</dt><dd>${ownersOf(device)}</dd>
<dt>Intune primary user</dt><dd>${intune ? intune.primaryUserUpn || 'none' : 'not managed by Intune'}</dd>
<dt>Device ID</dt><dd><code>${device.deviceId}</code></dd>
</dl>
<h2>Recovery keys</h2>
${
  recoveryKeys.length === 0
    ? html`<p>No recovery key of this device is stored in Entra ID.</p>`
    : html`<table>
<thead><tr><th scope="col">Key ID (as on the recovery screen)</th><th scope="col">Drive</th><th scope="col">Escrowed</th></tr></thead>
<tbody>
${recoveryKeys.map((key) => html`<tr><td><code class="key-id">${keyIdAsOnScreen(key.id)}</code></td><td>${VOLUME_TYPES[key.volumeType] ?? key.volumeType}</td><td>${formatDateTime(key.createdDateTime)}</td></tr>\n`)}</tbody>
</table>`
}
<h2>Disclose a recovery password</h2>
${canDisclose ? disclosureForm(device.deviceId, options.form, options.csrfToken, options.formToken) : html`<p>Revealing a recovery password needs the app role ${APP_ROLES.disclose}.</p>`}`;
  return layout({ title: device.displayName, staff: options.viewer, body });
}

function keyPage(viewer: PageViewer | null, granted: GrantedDisclosure, displaySeconds: number): string {
  const groups = granted.recoveryKey.key.split('-');
  const body = html`<h1>Recovery password for ${granted.device.displayName}</h1>
<p>Key ID <code>${keyIdAsOnScreen(granted.recoveryKey.id)}</code> · ${VOLUME_TYPES[granted.recoveryKey.volumeType] ?? granted.recoveryKey.volumeType}</p>
<ol class="recovery-password" id="recovery-password" data-display-seconds="${displaySeconds}" aria-label="Recovery password, ${groups.length} groups">
${groups.map((group, index) => html`<li><span class="group-number">Group ${index + 1}</span><span class="group">${group}</span></li>\n`)}</ol>
<button type="button" id="copy-password" hidden>Copy the recovery password</button>
<p id="countdown" role="status">The recovery password disappears in ${displaySeconds} seconds.</p>
<p>Audit record <code class="audit-record-id">${granted.auditRecordId}</code> · disclosure <code>${granted.disclosureId}</code></p>
<p><a href="/devices/${encodeURIComponent(granted.device.deviceId)}">Back to the device</a> · <a href="/">Find another device</a></p>`;
  return layout({ title: 'Recovery password', staff: viewer, body, script: KEY_PAGE_SCRIPT_PATH });
}

function newFormToken(request: FastifyRequest): string {
  const token = randomBytes(24).toString('base64url');
  request.session.revealFormToken = token;
  return token;
}

const deviceIdParam = { type: 'object', required: ['deviceId'], properties: { deviceId: { type: 'string', pattern: '^[0-9A-Fa-f-]{1,64}$' } } } as const;
const formString = (maxLength: number) => ({ type: 'string', maxLength }) as const;

export default async function devicePages(app: FastifyInstance, options: DevicePagesOptions): Promise<void> {
  const { web, requiredAuthContext, now } = options;
  const sendHtml = (reply: FastifyReply, status: number, page: string) => reply.code(status).type('text/html; charset=utf-8').send(page);

  const renderDevice = (request: FastifyRequest, reply: FastifyReply, data: DeviceRecoveryKeys, form: RevealForm, refusal: KeyDeskProblem | null) =>
    sendHtml(reply, refusal?.status ?? 200, devicePage({ staff: request.staff!, viewer: viewerOf(request, reply), data, form, refusal, csrfToken: reply.generateCsrf(), formToken: newFormToken(request) }));

  app.get<{ Params: { deviceId: string } }>(
    '/devices/:deviceId',
    { schema: { hide: true, params: deviceIdParam }, preHandler: app.requireStaff(APP_ROLES.lookup) },
    async (request, reply) => {
      const { deviceId } = request.params;
      const data = await listDeviceRecoveryKeys(app.keydesk.graph, deviceId);
      let form = emptyForm(data);
      const draft = request.session.draft;
      if (draft && draft.path === `/devices/${encodeURIComponent(deviceId)}`) {
        form = { ...form, ...pickForm(draft.fields) };
        request.session.draft = undefined;
      }
      return renderDevice(request, reply, data, form, null);
    },
  );

  app.post<{ Params: { deviceId: string }; Body: RevealBody }>(
    '/devices/:deviceId/reveal',
    {
      schema: {
        hide: true,
        params: deviceIdParam,
        body: {
          type: 'object',
          properties: { _csrf: formString(256), formToken: formString(64), keyId: formString(64), requester: formString(256), ticket: formString(64), reason: formString(64), comment: formString(1000) },
        },
      },
      config: {
        rateLimit: {
          max: options.revealsPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (request: FastifyRequest) => `reveal:${request.staff?.oid ?? request.ip}`,
          errorResponseBuilder: (_request: FastifyRequest, context: { after: string; ttl: number }) =>
            new KeyDeskProblem('rate_limited', `You have tried to reveal recovery passwords too often. Wait ${context.after} and try again; every attempt is in the audit trail.`, {
              headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
            }),
        },
      },
      preHandler: [app.requireStaff(APP_ROLES.disclose), app.csrfProtection],
    },
    async (request, reply) => {
      const staff = request.staff!;
      const { deviceId } = request.params;
      const devicePath = `/devices/${encodeURIComponent(deviceId)}`;
      const form = pickForm(request.body ?? {});

      // One reveal per form shown: a reload or a back-and-resubmit posts a used token.
      const expected = request.session.revealFormToken;
      request.session.revealFormToken = undefined;
      if (expected === undefined || request.body?.formToken !== expected) {
        return sendHtml(
          reply,
          409,
          messagePage({
            title: 'This form was already sent',
            code: 'form_already_used',
            staff: viewerOf(request, reply),
            paragraphs: ['A recovery password is shown once, in answer to the form that asked for it; reloading or going back does not show it again.', 'To disclose it again, open the device page and fill in the form anew.'],
            link: { href: devicePath, text: 'Open the device page' },
          }),
        );
      }

      const verdict = checkRevealSignIn(staff, { reauthMaxAgeSeconds: web.reauthMaxAgeSeconds, requiredAuthContext }, now());
      if (verdict !== 'ok') return app.sendToEntra(request, reply, { returnTo: devicePath, verdict, draft: { ...form } });

      const caller = staffAuditCaller(request);
      let granted: GrantedDisclosure;
      try {
        if (!(DISCLOSURE_REASONS as readonly string[]).includes(form.reason)) {
          const problem = new KeyDeskProblem('invalid_request', 'Choose the reason for the disclosure.');
          await app.keydesk.audit.append(
            auditEntry({ action: 'disclosure', outcome: 'refused', code: problem.code, requestId: request.id, caller, agentUpn: staff.upn, requesterUpn: form.requester, ticket: form.ticket, keyIdInput: form.keyId.slice(0, 64), device: { id: null, deviceId, displayName: null } }),
          );
          throw problem;
        }
        granted = await app.keydesk.disclose(
          request,
          {
            deviceId,
            keyId: form.keyId,
            requesterUpn: form.requester.trim(),
            ticket: form.ticket.trim(),
            reason: form.reason as DisclosureReason,
            agentUpn: staff.upn,
            ...(form.comment.trim() ? { comment: form.comment.trim() } : {}),
          },
          caller,
        );
      } catch (error) {
        if (!isProblem(error)) throw error;
        let data: DeviceRecoveryKeys;
        try {
          data = await listDeviceRecoveryKeys(app.keydesk.graph, deviceId);
        } catch {
          return sendHtml(reply, error.status, messagePage({ title: 'Not disclosed', code: error.code, staff: viewerOf(request, reply), paragraphs: [explain(error)], link: { href: devicePath, text: 'Back to the device' } }));
        }
        return renderDevice(request, reply, data, form, error);
      }
      return sendHtml(reply, 200, keyPage(viewerOf(request, reply), granted, web.keyDisplaySeconds));
    },
  );
}

function pickForm(fields: Partial<Record<keyof RevealForm, unknown>>): RevealForm {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return { keyId: text(fields.keyId), requester: text(fields.requester), ticket: text(fields.ticket), reason: text(fields.reason), comment: text(fields.comment) };
}
