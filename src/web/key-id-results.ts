import type { FastifyInstance } from 'fastify';
import { KEY_ID_PATTERN } from '../disclosure/input.js';
import type { KeyIdMatch } from '../key-index/key-id-lookup.js';
import { VOLUME_TYPES, formatDateTime, keyIdAsOnScreen } from './device-text.js';
import { html, type SafeHtml } from './html.js';

/**
 * The search page's second reading of what was typed: 8 or more hex digits may be the key ID the
 * caller reads off the recovery screen as well as a device name, so both are tried and each set of
 * results says which it is. The key index only points to the device; its page reads Graph anew.
 */

const KEY_ID = new RegExp(KEY_ID_PATTERN);

export function looksLikeKeyId(text: string): boolean {
  return KEY_ID.test(text);
}

function keyRow(match: KeyIdMatch): SafeHtml {
  const name = match.device
    ? html`<a href="/devices/${encodeURIComponent(match.deviceId)}">${match.device.displayName}</a>`
    : html`<span>${match.deviceId}</span> <strong class="disabled-flag">(no longer in Entra ID)</strong>`;
  return html`<tr>
<td data-label="Device">${name}</td>
<td data-label="Key ID"><code>${keyIdAsOnScreen(match.id)}</code></td>
<td data-label="Volume">${VOLUME_TYPES[match.volumeType]}</td>
<td data-label="Escrowed" class="date">${formatDateTime(match.createdDateTime)}</td>
<td data-label="In Entra ID">${match.removedAt === null ? 'yes' : html`no, since ${formatDateTime(match.removedAt)}`}</td>
</tr>
`;
}

/** The "By key ID" section, or nothing when the text cannot be a key ID. */
export async function keyIdResults(app: FastifyInstance, text: string): Promise<SafeHtml> {
  if (!looksLikeKeyId(text)) return html``;
  const [matches, status] = await Promise.all([app.keyIndex.findRecoveryKeys(text), app.keyIndex.status()]);
  const synced = status.lastSuccessAt === null ? 'The key index has not completed a sync yet.' : `The key index was last synced ${formatDateTime(status.lastSuccessAt)}.`;
  if (matches.length === 0) return html`<h2 id="by-key-id">By key ID</h2><p>No recovery key ID starts with ${text.toUpperCase()}. ${synced}</p>`;
  return html`<h2 id="by-key-id">By key ID</h2>
${new Set(matches.map((m) => m.deviceId)).size > 1 ? html`<p class="notice">Keys of several devices start with these digits. Ask the caller for more digits of the key ID, or for the device name.</p>` : ''}
<table class="results">
<caption>${matches.length} ${matches.length === 1 ? 'recovery key' : 'recovery keys'} with this key ID. ${synced}</caption>
<thead><tr><th scope="col">Device</th><th scope="col">Key ID</th><th scope="col">Volume</th><th scope="col">Escrowed</th><th scope="col">In Entra ID</th></tr></thead>
<tbody>
${matches.map(keyRow)}</tbody>
</table>`;
}
