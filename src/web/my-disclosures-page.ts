import type { FastifyInstance } from 'fastify';
import type { AuditRecord } from '../audit/types.js';
import { breakableUpns, formatDateTime } from './device-text.js';
import { html } from './html.js';
import { layout, viewerOf } from './pages.js';

/** The signed-in staff member's own recent disclosures and refusals, newest first, from the audit trail's reader. */

export const MY_DISCLOSURES_SHOWN = 50;

function recordRow(record: AuditRecord) {
  return html`<tr class="audit-record"><td data-label="Time" class="date">${formatDateTime(record.time)}</td><td data-label="Device">${record.device?.displayName ?? record.device?.deviceId ?? ''}</td><td data-label="Requester">${breakableUpns(record.requesterUpn ?? '')}</td><td data-label="Ticket">${record.ticket ?? ''}</td><td data-label="Outcome">${record.outcome}${record.code ? html` (<code>${record.code}</code>)` : ''}</td><td data-label="Audit record"><code>${record.id}</code></td></tr>\n`;
}

export default async function myDisclosuresPage(app: FastifyInstance): Promise<void> {
  app.get('/my/disclosures', { schema: { hide: true }, preHandler: app.requireStaff() }, async (request, reply) => {
    const staff = request.staff!;
    const { records } = await app.auditTrail.query({ caller: staff.oid, action: 'disclosure' }, { limit: MY_DISCLOSURES_SHOWN });
    const body = html`<h1>My disclosures</h1>
${
  records.length === 0
    ? html`<p>You have made no disclosures recently.</p>`
    : html`<table class="results">
<caption>Your ${records.length} most recent disclosures and refused attempts, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Device</th><th scope="col">Requester</th><th scope="col">Ticket</th><th scope="col">Outcome</th><th scope="col">Audit record</th></tr></thead>
<tbody>
${records.map(recordRow)}</tbody>
</table>`
}`;
    return reply.type('text/html; charset=utf-8').send(layout({ title: 'My disclosures', staff: viewerOf(request, reply), body }));
  });
}
