import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_ROLES } from '../auth/roles.js';
import { staffHasRole } from '../auth/staff-session.js';
import type { DeviceRecoveryKeys } from '../disclosure/lookup.js';
import type { DisclosureChecks } from '../schemas/checks.js';
import type { RecoveryKeyMetadata } from '../graph/types.js';
import type { KeyDeskProblem } from '../problem/problem.js';
import type { DisabledCheck } from '../config/config.js';
import { VOLUME_TYPES, accountState, breakableUpns, formatDateTime, keyIdAsOnScreen, ownersOf } from './device-text.js';
import { html, type SafeHtml } from './html.js';
import { layout, sendPage, viewerOf } from './pages.js';
import { EMPTY_FORM, disclosureFormHtml, pickForm, shownForm, type RevealForm } from './reveal-form.js';
import { newFormToken } from './form-token.js';

/**
 * The device page: what the directory says of the device, how many recovery keys it has and for
 * which drives — never their key IDs before an attempt (the caller must read theirs off the
 * screen: showing them would let a talked-into agent read it out instead) — and, for
 * BitLocker.Disclose, the disclosure form. A refused attempt comes back to this page with what it
 * resolved, so it is rendered without asking Graph again.
 */

/** What the page knows of the device: a null member was not resolved (an attempt stopped first). */
export interface DeviceFacts {
  device: DeviceRecoveryKeys['device'] | null;
  intune: DeviceRecoveryKeys['intune'];
  recoveryKeys: RecoveryKeyMetadata[] | null;
}

export interface DevicePageState {
  deviceId: string;
  data: DeviceFacts;
  /** DISABLED_DEVICE_CHECK: under `enforce` a disabled device gets no form, since it can only be refused. */
  disabledDeviceCheck: DisabledCheck;
  form: RevealForm;
  refusal: KeyDeskProblem | null;
  /** After an attempt: what its checks established, and the key the key ID matched. */
  attempt: { checks: DisclosureChecks; matchedKey: RecoveryKeyMetadata | null } | null;
}

/** Why the form is not offered, when it is not: nothing KeyDesk would disclose. */
function formWithheld(state: DevicePageState): SafeHtml | null {
  const { device, recoveryKeys } = state.data;
  if (recoveryKeys !== null && recoveryKeys.length === 0) return html``;
  if (device?.accountEnabled === false && state.disabledDeviceCheck === 'enforce') {
    return html`<p class="notice">This device is disabled in Entra ID, so KeyDesk refuses to disclose its recovery password (DISABLED_DEVICE_CHECK=enforce). If it was reported lost or stolen, tell the security team; if it was disabled by mistake, have it enabled first.</p>`;
  }
  return null;
}

export function renderDevicePage(request: FastifyRequest, reply: FastifyReply, state: DevicePageState): FastifyReply {
  const { device, intune, recoveryKeys } = state.data;
  const title = device?.displayName ?? (state.refusal ? 'Not disclosed' : 'Device');
  const canDisclose = staffHasRole(request.staff!, APP_ROLES.disclose);
  const withheld = formWithheld(state);
  const showForm = canDisclose && withheld === null;
  const body = html`<h1>${title}</h1>
${state.refusal ? refusalBox(state.refusal) : ''}
${device ? deviceFacts(device, intune) : html`<p><a href="/devices/${encodeURIComponent(state.deviceId)}">Open the device page</a> to see the device again.</p>`}
${state.attempt ? attemptFacts(state.attempt) : ''}
${recoveryKeys ? keySummary(recoveryKeys) : ''}
${canDisclose && withheld ? html`<h2>Disclose a recovery password</h2>
${withheld}` : disclosureSection(state, showForm, canDisclose, reply.generateCsrf(), showForm ? newFormToken(request) : '')}`;
  return sendPage(reply, state.refusal?.status ?? 200, layout({ title, staff: viewerOf(request, reply), body }));
}

function refusalBox(problem: KeyDeskProblem): SafeHtml {
  const disclosureId = problem.extensions.disclosureId;
  return html`<div class="refusal" role="alert"><h2>Not disclosed</h2><p>${problem.detail}</p><p class="code">Code: <code>${problem.code}</code>${typeof disclosureId === 'string' ? html` · disclosure <code>${disclosureId}</code>` : ''}</p></div>`;
}

function deviceFacts(device: NonNullable<DeviceFacts['device']>, intune: DeviceFacts['intune']): SafeHtml {
  return html`<dl class="facts">
<dt>Operating system</dt><dd>${[device.operatingSystem, device.operatingSystemVersion].filter(Boolean).join(' ') || 'unknown'}</dd>
<dt>Last sign-in</dt><dd class="date">${formatDateTime(device.approximateLastSignInDateTime)}</dd>
<dt>Device account</dt><dd class="device-account${device.accountEnabled === false ? ' warn' : ''}">${accountState(device.accountEnabled)}${device.accountEnabled === false ? ' — it may have been reported lost or stolen' : ''}</dd>
<dt>Owners</dt><dd>${breakableUpns(ownersOf(device))}</dd>
<dt>Intune primary user</dt><dd>${intune ? breakableUpns(intune.primaryUserUpn || 'none') : 'not managed by Intune'}</dd>
<dt>Device ID</dt><dd><code class="device-id">${device.deviceId}</code></dd>
</dl>`;
}

const CHECK_WORDS = { passed: 'enabled', failed: 'disabled (refused)', warned: 'disabled (let through: warn)', skipped: 'not checked' } as const;

function attemptFacts(attempt: NonNullable<DevicePageState['attempt']>): SafeHtml {
  const { checks, matchedKey } = attempt;
  return html`<dl class="facts attempt">
${matchedKey ? html`<dt>Key ID</dt><dd>matched the ${VOLUME_TYPES[matchedKey.volumeType]} key <code>${keyIdAsOnScreen(matchedKey.id)}</code>, escrowed <span class="date">${formatDateTime(matchedKey.createdDateTime)}</span></dd>` : ''}
${checks.requesterEnabled !== null ? html`<dt>Requester account</dt><dd class="requester-account">${CHECK_WORDS[checks.requesterEnabled]}</dd>` : ''}
</dl>`;
}

function keySummary(keys: RecoveryKeyMetadata[]): SafeHtml {
  if (keys.length === 0) return html`<h2>Recovery keys</h2><p class="notice">No recovery key of this device is stored in Entra ID, so KeyDesk cannot disclose one. The key may be held elsewhere (on-premises AD, a printout or the user's Microsoft account).</p>`;
  return html`<h2>Recovery keys</h2>
<p>${keys.length === 1 ? '1 recovery key is' : `${keys.length} recovery keys are`} escrowed for this device. The caller reads the key ID off the recovery screen; KeyDesk checks it.</p>
<ul class="key-summary">
${keys.map((key) => html`<li>${VOLUME_TYPES[key.volumeType]}, escrowed <span class="date">${formatDateTime(key.createdDateTime)}</span></li>\n`)}</ul>`;
}

function disclosureSection(state: DevicePageState, showForm: boolean, canDisclose: boolean, csrf: string, formToken: string): SafeHtml {
  if (!canDisclose) return html`<h2>Disclose a recovery password</h2><p>Revealing a recovery password needs the app role ${APP_ROLES.disclose}.</p>`;
  if (!showForm) return html``;
  return html`<h2>Disclose a recovery password</h2>
${disclosureFormHtml(state.deviceId, state.form, { csrf, form: formToken })}`;
}

const deviceIdParam = { type: 'object', required: ['deviceId'], properties: { deviceId: { type: 'string', pattern: '^[0-9A-Fa-f-]{1,64}$' } } } as const;

export { deviceIdParam };

export default async function devicePage(app: FastifyInstance, options: { rateLimit: object; disabledDeviceCheck: DisabledCheck }): Promise<void> {
  app.get<{ Params: { deviceId: string } }>(
    '/devices/:deviceId',
    { config: { rateLimit: options.rateLimit }, schema: { hide: true, params: deviceIdParam }, preHandler: app.requireStaff(APP_ROLES.lookup) },
    async (request, reply) => {
      const { deviceId } = request.params;
      const data = await app.deviceLookup.recoveryKeysOf(deviceId);
      // A form kept across a trip through Entra comes back filled in, once.
      const draft = request.session.draft;
      let form = EMPTY_FORM;
      if (draft && draft.path === `/devices/${encodeURIComponent(deviceId)}`) {
        form = shownForm(pickForm(draft.fields));
        request.session.draft = undefined;
      }
      return renderDevicePage(request, reply, { deviceId, data, form, refusal: null, attempt: null, disabledDeviceCheck: options.disabledDeviceCheck });
    },
  );
}
