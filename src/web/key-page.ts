import type { GrantedDisclosure } from '../disclosure/service.js';
import { KEY_PAGE_SCRIPT_PATH } from './assets.js';
import { VOLUME_TYPES, keyIdAsOnScreen } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, type PageViewer } from './pages.js';

/**
 * The key page: the answer to a granted reveal and nothing else. The password in 8 numbered
 * groups to read aloud or copy; /assets/key-page.js counts down and removes it from the page after
 * KEY_DISPLAY_SECONDS (Pause stops the countdown, Extend adds the same time once, and the password
 * goes at the latest 3 × KEY_DISPLAY_SECONDS after the page loaded, paused or not). A screen reader
 * hears the time left at 30 s and 10 s and when it is gone, not every second.
 */

/** The self-service key page speaks to the employee at their own locked-out laptop; the staff one to an agent on a call. */
const EMPLOYEE_INTRO = html`<p class="key-intro">On the blue recovery screen, type these 48 digits group by group (the dashes come by themselves), then press Enter. Windows starts as usual; you may be asked for your PIN.</p>`;

export function keyPage(viewer: PageViewer | null, granted: GrantedDisclosure, displaySeconds: number, options: { employee?: boolean; rotation?: SafeHtml | '' } = {}): string {
  const groups = granted.recoveryKey.key.split('-');
  const employee = options.employee ?? false;
  const links = employee
    ? html`<p><a href="/self-service/">Back to my devices</a></p>`
    : html`<p><a href="/devices/${encodeURIComponent(granted.device.deviceId)}">Back to the device</a> · <a href="/">Find another device</a></p>`;
  const body = html`<h1>Recovery password for ${granted.device.displayName}</h1>
${employee ? EMPLOYEE_INTRO : ''}
<p>Key ID <code class="key-id">${keyIdAsOnScreen(granted.recoveryKey.id)}</code> · ${VOLUME_TYPES[granted.recoveryKey.volumeType] ?? granted.recoveryKey.volumeType}</p>
${granted.warnings.length > 0 ? html`<div class="notice warnings" role="note"><h2>Disclosed with a warning</h2>${granted.warnings.map((w) => html`<p class="warning" data-code="${w.code}">${w.detail}</p>`)}</div>` : ''}
<ol class="recovery-password" id="recovery-password" data-display-seconds="${displaySeconds}" data-max-seconds="${displaySeconds * 3}" aria-label="Recovery password, ${groups.length} groups">
${groups.map((group, index) => html`<li><span class="group-number">Group ${index + 1}</span><span class="group">${group}</span><span class="group-words" hidden></span></li>\n`)}</ol>
<div class="key-controls">
<button type="button" id="copy-password" hidden>Copy the recovery password</button>
<button type="button" id="read-aloud" aria-pressed="false" hidden>Read aloud</button>
<button type="button" id="pause-countdown" aria-pressed="false" hidden>Pause</button>
<button type="button" id="extend-countdown" hidden>Extend by ${displaySeconds} seconds</button>
</div>
<p id="countdown">This browser runs no script, so the recovery password stays on this page until you leave it: close the page once ${employee ? 'you have' : 'the caller has'} typed it.</p>
<p id="key-announcer" class="visually-hidden" aria-live="polite"></p>
<p>Audit record <code class="audit-record-id">${granted.auditRecordId}</code> · disclosure <code>${granted.disclosureId}</code></p>
${options.rotation ? html`<div class="rotation" id="rotation"><h2>Rotation</h2><p>Once the caller is back in, have Intune replace this recovery password: it has been read out. KeyDesk checks that the new key reaches Entra ID; follow it in <a href="/my/disclosures">My disclosures</a>.</p>${options.rotation}</div>` : ''}
${links}`;
  return layout({ title: 'Recovery password', staff: viewer, body, script: KEY_PAGE_SCRIPT_PATH, employee });
}
