import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRecord } from '../audit/types.js';
import type { Rotation } from '../rotation/types.js';
import { breakableUpns, formatDateTime } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, viewerOf } from './pages.js';
import { rotationCell } from './rotation-pages.js';

/**
 * The signed-in staff member's own recent disclosures and refusals, newest first, from the audit
 * trail's reader; each granted one with its rotation (state, or "Rotate now"), unless
 * ROTATE_AFTER_DISCLOSURE=off.
 */

export const MY_DISCLOSURES_SHOWN = 50;

type RotationCell = (record: AuditRecord) => SafeHtml | '';

function recordRow(record: AuditRecord, rotation: RotationCell | null) {
  const id = rotation && record.outcome === 'granted' && record.disclosureId ? `rotation-${record.disclosureId}` : '';
  return html`<tr class="audit-record"${id ? html` id="${id}"` : ''}><td data-label="Time" class="date">${formatDateTime(record.time)}</td><td data-label="Device">${record.device?.displayName ?? record.device?.deviceId ?? ''}</td><td data-label="Requester">${breakableUpns(record.requesterUpn ?? '')}</td><td data-label="Ticket">${record.ticket ?? ''}</td><td data-label="Outcome">${record.outcome}${record.code ? html` (<code>${record.code}</code>)` : ''}</td>${rotation ? html`<td data-label="Rotation">${rotation(record)}</td>` : ''}<td data-label="Audit record"><code>${record.id}</code></td></tr>\n`;
}

/** The rotation of each granted disclosure shown, looked up together; null with ROTATE_AFTER_DISCLOSURE=off. */
async function rotationCells(request: FastifyRequest, reply: FastifyReply, records: readonly AuditRecord[]): Promise<RotationCell | null> {
  const { rotations } = request.server;
  if (rotations.mode === 'off') return null;
  const granted = [...new Set(records.filter((r) => r.outcome === 'granted' && r.disclosureId).map((r) => r.disclosureId!))];
  const found = new Map<string, Rotation | null>(await Promise.all(granted.map(async (id) => [id, await rotations.forDisclosure(id)] as const)));
  return (record) => (record.outcome === 'granted' && record.disclosureId ? rotationCell(request, reply, record.disclosureId, found.get(record.disclosureId) ?? null) : '');
}

export default async function myDisclosuresPage(app: FastifyInstance): Promise<void> {
  app.get('/my/disclosures', { schema: { hide: true }, preHandler: app.requireStaff() }, async (request, reply) => {
    const staff = request.staff!;
    const { records } = await app.auditTrail.query({ caller: staff.oid, action: 'disclosure' }, { limit: MY_DISCLOSURES_SHOWN });
    const rotation = await rotationCells(request, reply, records);
    const body = html`<h1>My disclosures</h1>
${
  records.length === 0
    ? html`<p>You have made no disclosures recently.</p>`
    : html`<table class="results">
<caption>Your ${records.length} most recent disclosures and refused attempts, newest first</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Device</th><th scope="col">Requester</th><th scope="col">Ticket</th><th scope="col">Outcome</th>${rotation ? html`<th scope="col">Rotation</th>` : ''}<th scope="col">Audit record</th></tr></thead>
<tbody>
${records.map((record) => recordRow(record, rotation))}</tbody>
</table>`
}`;
    return reply.type('text/html; charset=utf-8').send(layout({ title: 'My disclosures', staff: viewerOf(request, reply), body }));
  });
}
