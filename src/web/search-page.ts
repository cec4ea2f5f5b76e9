import type { FastifyInstance } from 'fastify';
import { findDevices } from '../disclosure/lookup.js';
import type { Device, IntuneRecord } from '../graph/types.js';
import { html, type SafeHtml } from './html.js';
import { layout, viewerOf } from './pages.js';
import { formatDateTime, ownersOf } from './device-text.js';

/**
 * The page a signed-in staff member lands on: find a device by the name the caller reads off its
 * sticker or recovery screen. Two devices with one name are flagged, so the agent asks which.
 */

interface SearchQuery {
  name?: string;
  match?: 'exact' | 'prefix';
}

interface SearchRow {
  device: Device;
  /** Null past DETAILED_RESULTS: not looked up. */
  details: { intune: IntuneRecord | null; keyCount: number } | null;
  duplicate: boolean;
}

/**
 * Rows whose key count and Intune primary user are looked up (two Graph calls each). A wide prefix
 * can match hundreds of devices; fetching details for all of them would be a burst of Graph calls
 * (and throttling) to show rows nobody reads.
 */
export const DETAILED_RESULTS = 25;

function searchForm(query: SearchQuery): SafeHtml {
  const match = query.match ?? 'exact';
  return html`<form method="get" action="/" role="search">
<label for="device-name">Device name <span class="hint">As on the device's sticker or its recovery screen.</span></label>
<input id="device-name" name="name" type="search" maxlength="256" required autocomplete="off" spellcheck="false" value="${query.name ?? ''}">
<fieldset>
<legend>Match</legend>
<input id="match-exact" type="radio" name="match" value="exact"${match === 'exact' ? html` checked` : ''}><label for="match-exact">Exact name</label>
<input id="match-prefix" type="radio" name="match" value="prefix"${match === 'prefix' ? html` checked` : ''}><label for="match-prefix">Name starts with</label>
</fieldset>
<button type="submit">Search</button>
</form>`;
}

function resultsTable(rows: SearchRow[], capped: boolean, limit: number): SafeHtml {
  if (rows.length === 0) return html`<p>No device has that name. Check the spelling with the caller, or search by the start of the name.</p>`;
  const duplicates = rows.some((row) => row.duplicate);
  return html`${duplicates ? html`<p class="notice" id="duplicate-notice">Several devices share a name (highlighted). Ask the caller which one they are at: compare the owner, the operating system and the last sign-in.</p>` : ''}
${capped ? html`<p class="notice">Only the first ${limit} devices are shown. Type more of the name.</p>` : ''}
${rows.length > DETAILED_RESULTS ? html`<p class="notice">Key counts and primary users are shown for the first ${DETAILED_RESULTS} devices. Type more of the name to narrow the list.</p>` : ''}
<table>
<caption>${rows.length} ${rows.length === 1 ? 'device' : 'devices'} found</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Operating system</th><th scope="col">Last sign-in</th><th scope="col">Owners</th><th scope="col">Intune primary user</th><th scope="col">Intune-managed</th><th scope="col">Recovery keys</th></tr></thead>
<tbody>
${rows.map(
  (row) => html`<tr${row.duplicate ? html` class="duplicate"` : ''}>
<td><a href="/devices/${encodeURIComponent(row.device.deviceId)}">${row.device.displayName}</a>${row.duplicate ? html` <strong class="duplicate-flag">(duplicate name)</strong>` : ''}</td>
<td>${[row.device.operatingSystem, row.device.operatingSystemVersion].filter(Boolean).join(' ') || 'unknown'}</td>
<td>${formatDateTime(row.device.approximateLastSignInDateTime)}</td>
<td>${ownersOf(row.device)}</td>
<td>${row.details ? row.details.intune?.primaryUserUpn || 'none' : '—'}</td>
<td>${row.details ? (row.details.intune ? 'yes' : 'no') : row.device.isManaged ? 'yes' : 'no'}</td>
<td>${row.details ? String(row.details.keyCount) : '—'}</td>
</tr>
`,
)}
</tbody>
</table>`;
}

export default async function searchPage(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: SearchQuery }>(
    '/',
    {
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: { name: { type: 'string', maxLength: 256 }, match: { type: 'string', enum: ['exact', 'prefix'] } },
        },
      },
      preHandler: app.requireStaff(),
    },
    async (request, reply) => {
      const name = request.query.name?.trim() ?? '';
      let results: SafeHtml | string = '';
      if (name !== '') {
        const graph = app.keydesk.graph;
        const found = await findDevices(graph, request.query.match === 'prefix' ? { prefix: name } : { name });
        const counts = new Map<string, number>();
        for (const device of found.devices) counts.set(device.displayName.toLowerCase(), (counts.get(device.displayName.toLowerCase()) ?? 0) + 1);
        const rows = await Promise.all(
          found.devices.map(async (device, index): Promise<SearchRow> => {
            const duplicate = (counts.get(device.displayName.toLowerCase()) ?? 0) > 1;
            if (index >= DETAILED_RESULTS) return { device, details: null, duplicate };
            const [keys, intune] = await Promise.all([graph.listRecoveryKeys(device.deviceId), graph.getIntuneRecord(device.deviceId)]);
            return { device, details: { intune, keyCount: keys.length }, duplicate };
          }),
        );
        results = resultsTable(rows, found.capped, found.limit);
      }
      const body = html`<h1>Find a device</h1>
${searchForm({ ...request.query, name })}
${results}`;
      return reply.type('text/html; charset=utf-8').send(layout({ title: name ? `Devices named ${name}` : 'Find a device', staff: viewerOf(request, reply), body }));
    },
  );
}
