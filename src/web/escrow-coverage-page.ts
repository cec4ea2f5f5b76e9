import type { FastifyInstance } from 'fastify';
import { APP_ROLES } from '../auth/roles.js';
import { coverageCsv, type DeviceKeysRow, type EscrowCoverageReport } from '../coverage/escrow-coverage.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { formatDateTime } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, sendPage, viewerOf } from './pages.js';

/**
 * The escrow coverage report for staff with BitLocker.Lookup or BitLocker.Audit: where recovery would fail today. It
 * reads `app.escrowCoverage`, as the API does; the CSV is the API's, under the staff session.
 */

function deviceLink(deviceId: string, name: string): SafeHtml {
  return html`<a href="/devices/${encodeURIComponent(deviceId)}">${name || deviceId}</a>`;
}

function keysTable(id: string, caption: string, rows: readonly DeviceKeysRow[]): SafeHtml {
  if (rows.length === 0) return html`<p id="${id}">${caption}: none.</p>`;
  return html`<table class="results" id="${id}"><caption>${caption}: ${String(rows.length)}</caption>
<thead><tr><th scope="col">Device</th><th scope="col">Keys</th><th scope="col">Newest key</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><td data-label="Device">${deviceLink(r.deviceId, r.deviceName)}</td><td data-label="Keys">${String(r.keyCount)}</td><td data-label="Newest key" class="date">${formatDateTime(r.newestKeyCreatedDateTime)}</td></tr>\n`)}</tbody></table>`;
}

function reportBody(report: EscrowCoverageReport): SafeHtml {
  const { counts } = report;
  return html`<p>Computed ${formatDateTime(report.generatedAt)}, after the last full sync of the key index: ${String(counts.devices)} devices, ${String(counts.keys)} keys in Entra ID, ${String(counts.managedWindowsEncrypted)} encrypted Windows devices managed by Intune.</p>
<p class="links"><a href="/reports/escrow-coverage.csv" download>Download the gaps as CSV</a></p>
${report.noEscrow.length === 0
    ? html`<p id="no-escrow">Encrypted devices with no key in Entra ID: none.</p>`
    : html`<table class="results" id="no-escrow"><caption>Encrypted devices with no key in Entra ID (the key is on the device only): ${String(report.noEscrow.length)}</caption>
<thead><tr><th scope="col">Device</th><th scope="col">Intune id</th></tr></thead>
<tbody>${report.noEscrow.map((r) => html`<tr><td data-label="Device">${deviceLink(r.deviceId, r.deviceName)}</td><td data-label="Intune id"><code>${r.managedDeviceId}</code></td></tr>\n`)}</tbody></table>`}
${keysTable('stale-key', 'Devices whose newest key is older than ESCROW_MAX_KEY_AGE_DAYS', report.staleKey)}
${keysTable('near-limit', 'Devices near Entra ID’s 200 keys (more than ESCROW_KEY_COUNT_WARN)', report.nearLimit)}
${report.orphanedKeys.length === 0
    ? html`<p id="orphaned-keys">Keys of deleted devices: none.</p>`
    : html`<table class="results" id="orphaned-keys"><caption>Keys of devices deleted from Entra ID: ${String(report.orphanedKeys.length)}</caption>
<thead><tr><th scope="col">Device ID</th><th scope="col">Key ID</th><th scope="col">Escrowed</th><th scope="col">What it means</th></tr></thead>
<tbody>${report.orphanedKeys.map((r) => html`<tr><td data-label="Device ID"><code>${r.deviceId}</code></td><td data-label="Key ID"><code>${r.id.toUpperCase()}</code></td><td data-label="Escrowed" class="date">${formatDateTime(r.createdDateTime)}</td><td data-label="What it means">${r.note}</td></tr>\n`)}</tbody></table>`}`;
}

export default async function escrowCoveragePage(app: FastifyInstance): Promise<void> {
  const lookupOrAudit = app.requireStaff([APP_ROLES.lookup, APP_ROLES.audit]);
  app.get('/reports/escrow-coverage', { schema: { hide: true }, preHandler: lookupOrAudit }, async (request, reply) => {
    const report = await app.escrowCoverage.latest();
    const body = html`<h1>Escrow coverage</h1>
${report ? reportBody(report) : html`<p>No report yet: it is computed after each full sync of the key index (every KEY_INDEX_SYNC_HOURS, or on POST /api/v1/recovery-keys/sync).</p>`}`;
    return sendPage(reply, 200, layout({ title: 'Escrow coverage', staff: viewerOf(request, reply), body }));
  });

  app.get('/reports/escrow-coverage.csv', { schema: { hide: true }, preHandler: lookupOrAudit }, async (_request, reply) => {
    const report = await app.escrowCoverage.latest();
    if (!report) throw new KeyDeskProblem('not_found', 'No escrow coverage report yet: it is computed after each full sync of the key index.');
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="keydesk-escrow-coverage-${report.generatedAt.slice(0, 10)}.csv"`).send(coverageCsv(report));
  });
}
