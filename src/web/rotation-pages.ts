import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditCallerOf } from '../auth/audit-caller.js';
import { APP_ROLES } from '../auth/roles.js';
import { staffHasRole } from '../auth/staff-session.js';
import type { Rotation, RotationState } from '../rotation/types.js';
import { ROTATION_STATES } from '../rotation/types.js';
import { formatDateTime } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, sendPage, viewerOf } from './pages.js';

/**
 * Rotation after disclosure in the web UI: the "Rotate now" button (ROTATE_AFTER_DISCLOSURE=request)
 * on the key page and on each granted row of My disclosures, posting to
 * POST /disclosures/<disclosureId>/rotation (BitLocker.Disclose, CSRF) which asks through
 * `app.rotations` as the API does, with the staff member as caller; and /rotations, every rotation
 * newest first, for staff with BitLocker.Lookup or BitLocker.Audit.
 */

export interface RotationPagesOptions {
  clientId: string;
}

const STATE_WORDS: Record<RotationState, string> = {
  requested: 'Requested',
  pending: 'Pending: Intune accepted, no new key yet',
  done: 'Done',
  failed: 'Failed',
  not_supported: 'Not supported',
  overdue: 'Overdue: no new key by the deadline',
};

const ROTATIONS_SHOWN = 50;

/** A rotation's state as a page shows it: the new key ID when done, the error when it failed or cannot be done. */
function rotationState(rotation: Rotation): SafeHtml {
  const more = rotation.state === 'done' && rotation.newRecoveryKeyId
    ? html`: new key <code class="new-key-id">${rotation.newRecoveryKeyId.toUpperCase()}</code>`
    : rotation.error
      ? html`: ${rotation.error.detail} (<code>${rotation.error.code}</code>)`
      : '';
  return html`<span class="rotation-state" data-state="${rotation.state}">${STATE_WORDS[rotation.state]}</span>${more}`;
}

/** The "Rotate now" form of one granted disclosure. */
function rotateNowForm(disclosureId: string, csrf: string): SafeHtml {
  return html`<form method="post" action="/disclosures/${encodeURIComponent(disclosureId)}/rotation" class="rotate-now"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit">Rotate now</button></form>`;
}

/**
 * What a granted disclosure shows about its rotation: its state once there is one; else, with
 * `request` and BitLocker.Disclose, the button; with `auto`, that it is being asked for; with `off`, nothing.
 */
export function rotationCell(request: FastifyRequest, reply: FastifyReply, disclosureId: string, rotation: Rotation | null): SafeHtml | '' {
  if (rotation) return rotationState(rotation);
  const mode = request.server.rotations.mode;
  if (mode === 'auto') return html`<span class="rotation-state" data-state="requested">Asked for automatically</span>`;
  if (mode === 'request' && request.staff && staffHasRole(request.staff, APP_ROLES.disclose)) return rotateNowForm(disclosureId, reply.generateCsrf());
  return '';
}

const rotateParams = {
  type: 'object',
  required: ['disclosureId'],
  properties: { disclosureId: { type: 'string', format: 'uuid' } },
  additionalProperties: false,
} as const;
const rotateBody = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 256 } } } as const;

const listQuery = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['', ...ROTATION_STATES] },
    // As the API's: a whole number from 1 to 500, as text.
    limit: { type: 'string', pattern: '^(?:[1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)$' },
    cursor: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

function rotationRow(rotation: Rotation): SafeHtml {
  const device = rotation.deviceName ?? rotation.deviceId;
  return html`<tr class="rotation"><td data-label="Requested" class="date">${formatDateTime(rotation.requestedAt)}</td><td data-label="Device"><a href="/devices/${encodeURIComponent(rotation.deviceId)}">${device}</a></td><td data-label="Disclosed key"><code>${rotation.oldRecoveryKeyId.toUpperCase()}</code></td><td data-label="State">${rotationState(rotation)}</td><td data-label="Deadline" class="date">${formatDateTime(rotation.deadline)}</td><td data-label="Updated" class="date">${formatDateTime(rotation.updatedAt)}</td></tr>\n`;
}

function stateFilter(chosen: string): SafeHtml {
  return html`<form method="get" action="/rotations" class="rotation-filter"><label for="state">State</label>
<select id="state" name="state"><option value=""${chosen === '' ? html` selected` : ''}>Any state</option>
${ROTATION_STATES.map((state) => html`<option value="${state}"${chosen === state ? html` selected` : ''}>${STATE_WORDS[state]}</option>\n`)}</select>
<button type="submit">Show</button></form>`;
}

function nextLink(state: string, limit: string | undefined, cursor: string | null): SafeHtml | '' {
  if (cursor === null) return '';
  const query = new URLSearchParams({ ...(state ? { state } : {}), ...(limit ? { limit } : {}), cursor });
  return html`<p class="links"><a href="/rotations?${query.toString()}" rel="next">Next page</a></p>`;
}

export default async function rotationPages(app: FastifyInstance, options: RotationPagesOptions): Promise<void> {
  app.post<{ Params: { disclosureId: string }; Body: { _csrf?: string } }>(
    '/disclosures/:disclosureId/rotation',
    { schema: { hide: true, params: rotateParams, body: rotateBody }, preHandler: [app.requireStaff(APP_ROLES.disclose), app.csrfProtection] },
    async (request, reply) => {
      const staff = request.staff!;
      const caller = auditCallerOf({ kind: 'user', appId: options.clientId, oid: staff.oid, upn: staff.upn, name: staff.name }, request);
      await app.rotations.request(request.params.disclosureId, { caller, requestId: request.id, callerRequestId: request.callerRequestId });
      return reply.code(303).header('location', `/my/disclosures#rotation-${request.params.disclosureId}`).send();
    },
  );

  app.get<{ Querystring: { state?: RotationState | ''; limit?: string; cursor?: string } }>(
    '/rotations',
    { schema: { hide: true, querystring: listQuery }, preHandler: app.requireStaff([APP_ROLES.lookup, APP_ROLES.audit]) },
    async (request, reply) => {
      const state = request.query.state ?? '';
      const page = await app.rotations.list({ ...(state ? { state } : {}), limit: request.query.limit ? Number(request.query.limit) : ROTATIONS_SHOWN, cursor: request.query.cursor ?? null });
      const body = html`<h1>Rotations</h1>
<p>Every rotation of a disclosed recovery password (ROTATE_AFTER_DISCLOSURE=${app.rotations.mode}), newest request first.</p>
${stateFilter(state)}
${
  page.rotations.length === 0
    ? html`<p id="no-rotations">No rotations${state ? html` in this state` : ''}.</p>`
    : html`<table class="results" id="rotations"><caption>${String(page.rotations.length)} rotations${state ? html`, ${STATE_WORDS[state]}` : ''}</caption>
<thead><tr><th scope="col">Requested</th><th scope="col">Device</th><th scope="col">Disclosed key</th><th scope="col">State</th><th scope="col">Deadline</th><th scope="col">Updated</th></tr></thead>
<tbody>
${page.rotations.map(rotationRow)}</tbody>
</table>`
}
${nextLink(state, request.query.limit, page.nextCursor)}`;
      return sendPage(reply, 200, layout({ title: 'Rotations', staff: viewerOf(request, reply), body }));
    },
  );
}
