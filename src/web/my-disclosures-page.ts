import type { FastifyInstance } from 'fastify';
import type { AuditTrail } from '../audit/types.js';
import { formatDateTime } from './device-text.js';
import { html } from './html.js';
import { layout, viewerOf } from './pages.js';

/** The signed-in staff member's own recent disclosures and refusals, read from the audit trail's end. */

export interface MyDisclosuresOptions {
  audit: AuditTrail;
  limit: number;
}

export default async function myDisclosuresPage(app: FastifyInstance, options: MyDisclosuresOptions): Promise<void> {
  app.get('/my/disclosures', { schema: { hide: true }, preHandler: app.requireStaff() }, async (request, reply) => {
    const staff = request.staff!;
    const { records } = await options.audit.query({ caller: staff.oid, action: 'disclosure' }, { limit: options.limit });
    const body = html`<h1>My disclosures</h1>
${
  records.length === 0
    ? html`<p>You have made no disclosures recently.</p>`
    : html`<table>
<caption>Your ${records.length} most recent disclosures and refused attempts, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Device</th><th scope="col">Requester</th><th scope="col">Ticket</th><th scope="col">Outcome</th><th scope="col">Audit record</th></tr></thead>
<tbody>
${records.map(
  (record) => html`<tr class="audit-record"><td>${formatDateTime(record.time)}</td><td>${record.device?.displayName ?? record.device?.deviceId ?? ''}</td><td>${record.requesterUpn ?? ''}</td><td>${record.ticket ?? ''}</td><td>${record.outcome}${record.code ? html` (<code>${record.code}</code>)` : ''}</td><td><code>${record.id}</code></td></tr>\n`,
)}</tbody>
</table>`
}`;
    return reply.type('text/html; charset=utf-8').send(layout({ title: 'My disclosures', staff: viewerOf(request, reply), body }));
  });
}
