import type { SelfServiceConfig } from '../config/self-service-config.js';
import { DISCLOSURE_REASONS } from '../disclosure/input.js';
import type { Device } from '../graph/types.js';
import type { KeyDeskProblem } from '../problem/problem.js';
import { formatDateTime } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, type PageViewer } from './pages.js';

/**
 * The self-service pages, for an employee on a phone beside their locked-out laptop: their
 * devices as cards, the form (key ID, reason), and every refusal with its stable code and whom to
 * call. Plain words, no helpdesk vocabulary; one column, nothing wider than the screen.
 */

export interface SelfServiceForm {
  keyId: string;
  reason: string;
  comment: string;
}

export const EMPTY_SELF_SERVICE_FORM: SelfServiceForm = { keyId: '', reason: '', comment: '' };

/** The reasons in an employee's words (the codes are the same as every door's). */
const EMPLOYEE_REASONS: Record<(typeof DISCLOSURE_REASONS)[number], string> = {
  forgotten_pin: 'I forgot my BitLocker PIN',
  tpm_or_firmware_change: 'After a BIOS, UEFI or firmware update',
  boot_configuration_change: 'After a change to how the laptop starts (boot order, USB boot)',
  hardware_change: 'After a hardware change or a new docking station',
  os_update: 'After a Windows update',
  other: 'Something else (say what below)',
};

/** What a refusal says to the employee, where the shared wording is addressed to a helpdesk agent. */
const EMPLOYEE_WORDS: Partial<Record<string, (device: string) => string>> = {
  key_id_mismatch: (device) => `The key ID you typed is not the one of a recovery key of ${device}. Look at the recovery screen again: type the characters after "Recovery key ID" (the first 8 are enough).`,
  ambiguous_key_id: (device) => `The key ID you typed fits more than one recovery key of ${device}. Type more of the characters after "Recovery key ID".`,
  requester_not_owner: () => 'KeyDesk gives you the recovery key of your own devices only, and this device is not registered to you.',
  key_not_found: (device) => `No recovery key of ${device} is stored in Entra ID, so KeyDesk has none to give.`,
  device_disabled: (device) => `${device} is disabled in Entra ID (it may have been reported lost or stolen), so its key is not given out here.`,
  form_already_used: () => 'This form was already sent (a reload, or going back). Open your device again and fill in the form anew.',
};

function employeeLayout(title: string, viewer: PageViewer | null, body: SafeHtml): string {
  return layout({ title, staff: viewer, body, employee: true });
}

function helpLine(config: SelfServiceConfig): SafeHtml {
  return html`<p class="help-contact">Stuck? Call ${config.helpContact}.</p>`;
}

/** A refusal as the employee reads it: what happened, the code, and whom to call. */
function refusalHtml(problem: KeyDeskProblem, config: SelfServiceConfig, deviceName: string): SafeHtml {
  const words = EMPLOYEE_WORDS[problem.code]?.(deviceName) ?? problem.detail;
  const disclosureId = problem.extensions.disclosureId;
  return html`<div class="refusal" role="alert"><h2>${problem.title}</h2><p>${words}</p>
<p class="code">Code: <code>${problem.code}</code>${typeof disclosureId === 'string' ? html` · reference <code>${disclosureId}</code>` : ''}</p></div>
${problem.code === 'self_service_limit_reached' || problem.code === 'self_service_not_allowed' ? '' : helpLine(config)}`;
}

/** A page that is only a refusal (not allowed, over the limit, a device that is not theirs). */
export function problemPage(viewer: PageViewer | null, problem: KeyDeskProblem, config: SelfServiceConfig): string {
  return employeeLayout(problem.title, viewer, html`<h1>Recover your device</h1>
${refusalHtml(problem, config, 'this device')}
<p><a href="/self-service/">Back to my devices</a></p>`);
}

function deviceCard(device: Device): SafeHtml {
  return html`<li class="device-card"><a href="/self-service/devices/${encodeURIComponent(device.deviceId)}"><span class="device-name">${device.displayName}</span>
<span class="device-meta">${device.operatingSystem ?? 'Unknown system'} · last signed in <span class="date">${formatDateTime(device.approximateLastSignInDateTime)}</span></span></a></li>
`;
}

export function devicesPage(viewer: PageViewer, devices: Device[], left: number, config: SelfServiceConfig): string {
  const list =
    devices.length === 0
      ? html`<p class="notice">No device is registered to you in Entra ID or Intune. Call ${config.helpContact}: they can find your laptop by its name.</p>`
      : html`<p>Choose the device that shows the blue BitLocker recovery screen.</p>
<ul class="device-cards">
${devices.map(deviceCard)}</ul>`;
  const body = html`<h1>Recover your device</h1>
${list}
<p class="limit">You can get ${left} more recovery ${left === 1 ? 'key' : 'keys'} here in the next 24 hours. Each one is recorded, and the security team is told.</p>
${helpLine(config)}`;
  return employeeLayout('Recover your device', viewer, body);
}

function reasonOptions(chosen: string): SafeHtml {
  return html`<option value=""${chosen === '' ? html` selected` : ''}>Choose what happened</option>
${DISCLOSURE_REASONS.map((reason) => html`<option value="${reason}"${chosen === reason ? html` selected` : ''}>${EMPLOYEE_REASONS[reason]}</option>\n`)}`;
}

export interface DeviceFormState {
  device: Device;
  form: SelfServiceForm;
  tokens: { csrf: string; form: string };
  refusal: KeyDeskProblem | null;
}

function deviceFormHtml(state: DeviceFormState): SafeHtml {
  const { device, form, tokens } = state;
  return html`<form method="post" action="/self-service/devices/${encodeURIComponent(device.deviceId)}/reveal" autocomplete="off" class="disclosure-form self-service-form">
<input type="hidden" name="_csrf" value="${tokens.csrf}">
<input type="hidden" name="formToken" value="${tokens.form}">
<div class="field"><label for="key-id">Recovery key ID <span class="hint" id="key-id-hint">On the blue screen, after "Recovery key ID:". The first 8 characters are enough.</span></label>
<input id="key-id" name="keyId" required minlength="8" maxlength="40" spellcheck="false" autocapitalize="characters" autocomplete="off" aria-describedby="key-id-hint" value="${form.keyId}"></div>
<div class="field"><label for="reason">What happened <span class="hint" id="reason-hint">Why the laptop asks for its recovery key.</span></label>
<select id="reason" name="reason" required aria-describedby="reason-hint">${reasonOptions(form.reason)}</select></div>
<div class="field"><label for="comment">Anything to add <span class="hint" id="comment-hint">Needed when you chose "Something else".</span></label>
<textarea id="comment" name="comment" rows="3" maxlength="1000" aria-describedby="comment-hint">${form.comment}</textarea></div>
<button type="submit">Show my recovery key</button>
</form>`;
}

export function devicePage(viewer: PageViewer, state: DeviceFormState, config: SelfServiceConfig): string {
  const body = html`<h1>${state.device.displayName}</h1>
${state.refusal ? refusalHtml(state.refusal, config, state.device.displayName) : ''}
<p>You may be asked to sign in again first: KeyDesk gives out a recovery key only after a recent sign-in.</p>
${deviceFormHtml(state)}
<p><a href="/self-service/">Back to my devices</a></p>
${helpLine(config)}`;
  return employeeLayout(state.device.displayName, viewer, body);
}
