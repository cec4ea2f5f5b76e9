import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { APP_ROLES, holdsAnyKeyDeskRole } from '../auth/roles.js';
import { staffHasRole } from '../auth/staff-session.js';
import type { DeviceQuery, DeviceSearchRow, DeviceSearchWithDetails } from '../disclosure/lookup.js';
import { passwordShapedPaths, passwordShapedProblem } from '../disclosure/password-shaped.js';
import type { KeyDeskProblem } from '../problem/problem.js';
import { validationProblem } from '../problem/validation.js';
import { DeviceSearchQuery } from '../schemas/api.js';
import { breakableUpns, formatDateTime, ownersOf } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, sendPage, viewerOf, type PageViewer } from './pages.js';
import { keyIdResults, looksLikeKeyId } from './key-id-results.js';

/**
 * The page a signed-in staff member lands on: find a device by the name the caller reads off its
 * sticker or recovery screen. Two devices with one name are flagged, so the agent asks which.
 * A staff member with BitLocker.Audit alone is told what that role allows instead.
 */

interface SearchQuery {
  name?: string;
  match?: 'exact' | 'prefix';
}

/**
 * Rows whose key count and Intune primary user are looked up (two Graph calls each). A wide prefix
 * can match hundreds of devices; details for all of them would be a burst of Graph calls to show
 * rows nobody reads (one request of KeyDesk's makes at most 25 Graph requests).
 */
export const DETAILED_RESULTS = 10;

function searchForm(query: SearchQuery): SafeHtml {
  const match = query.match ?? 'exact';
  return html`<form method="get" action="/" role="search" class="search-form">
<div class="field"><label for="device-name">Device name or key ID <span class="hint">The name on the device's sticker, or the recovery key ID on its recovery screen (8 or more digits).</span></label>
<input id="device-name" name="name" type="search" maxlength="256" required autocomplete="off" spellcheck="false" value="${query.name ?? ''}"></div>
<fieldset>
<legend>Match</legend>
<span class="choice"><input id="match-exact" type="radio" name="match" value="exact"${match === 'exact' ? html` checked` : ''}><label for="match-exact">Exact name</label></span>
<span class="choice"><input id="match-prefix" type="radio" name="match" value="prefix"${match === 'prefix' ? html` checked` : ''}><label for="match-prefix">Name starts with</label></span>
</fieldset>
<button type="submit">Search</button>
</form>`;
}

function resultRow(row: DeviceSearchRow): SafeHtml {
  const { device, details } = row;
  return html`<tr${row.duplicate ? html` class="duplicate"` : ''}>
<td data-label="Name"><a href="/devices/${encodeURIComponent(device.deviceId)}">${device.displayName}</a>${row.duplicate ? html` <strong class="duplicate-flag">(duplicate name)</strong>` : ''}${device.accountEnabled === false ? html` <strong class="disabled-flag">(disabled)</strong>` : ''}</td>
<td data-label="Operating system">${[device.operatingSystem, device.operatingSystemVersion].filter(Boolean).join(' ') || 'unknown'}</td>
<td data-label="Last sign-in" class="date">${formatDateTime(device.approximateLastSignInDateTime)}</td>
<td data-label="Owners">${breakableUpns(ownersOf(device))}</td>
<td data-label="Intune primary user">${details ? breakableUpns(details.intune?.primaryUserUpn || 'none') : '—'}</td>
<td data-label="Recovery keys">${details ? String(details.keyCount) : '—'}</td>
</tr>
`;
}

function resultsTable(found: DeviceSearchWithDetails): SafeHtml {
  const { rows } = found;
  if (rows.length === 0) return html`<p>No device has that name. Check the spelling with the caller, or search by the start of the name.</p>`;
  return html`${rows.some((row) => row.duplicate) ? html`<p class="notice" id="duplicate-notice">Several devices share a name (highlighted). Ask the caller which one they are at: compare the owner, the operating system and the last sign-in.</p>` : ''}
${found.capped ? html`<p class="notice">Only the first ${rows.length} devices are shown. Type more of the name.</p>` : ''}
${rows.length > DETAILED_RESULTS ? html`<p class="notice">Key counts and primary users are shown for the first ${DETAILED_RESULTS} devices. Type more of the name to narrow the list.</p>` : ''}
<table class="results">
<caption>${rows.length} ${rows.length === 1 ? 'device' : 'devices'} found</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Operating system</th><th scope="col">Last sign-in</th><th scope="col">Owners</th><th scope="col">Intune primary user</th><th scope="col">Recovery keys</th></tr></thead>
<tbody>
${rows.map(resultRow)}</tbody>
</table>`;
}

function auditRolePage(viewer: PageViewer | null): string {
  const body = html`<h1>KeyDesk</h1>
<p>You hold the app role <code>${APP_ROLES.audit}</code>. It lets you read KeyDesk's audit trail: every disclosure attempt, granted or refused, and every sign-in. It does not let you search devices or reveal recovery passwords (those need <code>${APP_ROLES.lookup}</code> or <code>${APP_ROLES.disclose}</code>).</p>
<p><a href="/audit">Open the audit trail</a>: search it, download it as CSV, and see whether its chain is intact.</p>`;
  return layout({ title: 'KeyDesk', staff: viewer, body });
}

/**
 * The search as the API's `GET /api/v1/devices` would take it: the same query schema (a prefix of
 * at least 2 characters, no control characters) and the same refusal of a pasted recovery password.
 */
function checkSearch(request: FastifyRequest, query: DeviceQuery): KeyDeskProblem | null {
  const pasted = passwordShapedProblem(query, 'querystring');
  if (pasted) return pasted;
  const validate = request.compileValidationSchema(DeviceSearchQuery);
  return validate(query) ? null : validationProblem(validate.errors ?? [], 'querystring');
}

function refusalBox(problem: KeyDeskProblem): SafeHtml {
  return html`<div class="refusal" role="alert"><p>${problem.detail}</p><p class="code">Code: <code>${problem.code}</code></p></div>`;
}

async function searchResults(app: FastifyInstance, request: FastifyRequest, query: DeviceQuery): Promise<{ status: number; body: SafeHtml; keptName: boolean }> {
  const problem = checkSearch(request, query);
  if (problem) return { status: problem.status, body: refusalBox(problem), keptName: passwordShapedPaths(query).length === 0 };
  const typed = query.name ?? query.prefix ?? '';
  const [byKeyId, byName] = await Promise.all([keyIdResults(app, typed), app.deviceLookup.searchWithDetails(query, DETAILED_RESULTS)]);
  const nameHeading = looksLikeKeyId(typed) ? html`<h2 id="by-name">By device name</h2>` : html``;
  return { status: 200, body: html`${byKeyId}${nameHeading}${resultsTable(byName)}`, keptName: true };
}

/** With SELF_SERVICE=on, a signed-in person without a KeyDesk role lands on their own devices instead of a refusal. */
function employeesToSelfService(enabled: boolean): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    if (enabled && request.staff && !holdsAnyKeyDeskRole(request.staff.roles)) return reply.redirect('/self-service/', 302);
  };
}

export default async function searchPage(app: FastifyInstance, options: { rateLimit: object; selfService: boolean }): Promise<void> {
  app.get<{ Querystring: SearchQuery }>(
    '/',
    {
      config: { rateLimit: options.rateLimit },
      schema: { hide: true, querystring: { type: 'object', properties: { name: { type: 'string', maxLength: 256 }, match: { type: 'string', enum: ['exact', 'prefix'] } } } },
      preHandler: [employeesToSelfService(options.selfService), app.requireStaff()],
    },
    async (request, reply) => {
      const viewer = viewerOf(request, reply);
      if (!staffHasRole(request.staff!, APP_ROLES.lookup)) return sendPage(reply, 200, auditRolePage(viewer));
      const name = request.query.name?.trim() ?? '';
      const prefix = request.query.match === 'prefix';
      const found = name === '' ? { status: 200, body: html``, keptName: true } : await searchResults(app, request, prefix ? { prefix: name } : { name });
      // A pasted recovery password is neither shown again nor put in the page title.
      const shown = found.keptName ? name : '';
      const body = html`<h1>Find a device</h1>
${searchForm({ ...request.query, name: shown })}
${found.body}
${options.selfService ? html`<p class="self-service-link">Locked out of your own laptop? <a href="/self-service/">Recover your own device</a>.</p>` : ''}`;
      const title = shown === '' ? 'Find a device' : prefix ? `Devices starting with ${shown}` : `Devices named ${shown}`;
      return sendPage(reply, found.status, layout({ title, staff: viewer, body }));
    },
  );
}
