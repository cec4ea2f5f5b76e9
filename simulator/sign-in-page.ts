/**
 * The simulated tenant's sign-in pages: a persona picker in place of Entra's sign-in, the
 * form_post relay and the error and signed-out pages. Plain HTML with no script at all (the
 * pages set a CSP without script-src), usable by keyboard and screen reader, and unmistakably
 * marked as a simulation so nobody types a real password into them.
 */

export interface Persona {
  upn: string;
  name: string;
  jobTitle: string;
  roles: string[];
}

export interface PickerPage {
  tenantId: string;
  domain: string;
  appName: string;
  action: string;
  ctx: string;
  personas: Persona[];
  selectedUpn: string | null;
  /** Why the page is shown now, in words for the person at the keyboard. */
  reason: string | null;
  /** Authentication contexts a `claims` request asks for (step-up). */
  stepUpContexts: string[];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const STYLE = `
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f3f2f1; color: #1b1b1b; line-height: 1.5; }
  .banner { background: #7a1f00; color: #fff; padding: .75rem 1rem; font-size: 1rem; }
  main { max-width: 36rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem; border: 1px solid #c8c6c4; }
  h1 { font-size: 1.5rem; margin-top: 0; }
  fieldset { border: 1px solid #8a8886; margin: 1rem 0; padding: .75rem 1rem; }
  legend { font-weight: 600; padding: 0 .25rem; }
  .persona { display: flex; gap: .75rem; align-items: flex-start; padding: .5rem 0; border-bottom: 1px solid #edebe9; }
  .persona:last-child { border-bottom: 0; }
  .persona input { margin-top: .35rem; width: 1.1rem; height: 1.1rem; }
  .upn, .roles, .meta { display: block; color: #484644; font-size: .9rem; }
  .reason { background: #fff4ce; border-left: 4px solid #8a6d00; padding: .5rem .75rem; }
  button { font: inherit; padding: .5rem 1.25rem; margin-right: .5rem; border: 2px solid #0f5b9e; background: #0f5b9e; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #0f5b9e; }
  :focus-visible { outline: 3px solid #000; outline-offset: 2px; }
`;

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · SIMULATED TENANT</title>
<style>${STYLE}</style>
</head>
<body>
<div class="banner" role="note"><strong>SIMULATED TENANT</strong> — this is not Microsoft Entra ID. It signs in fictional people for KeyDesk's demo and tests; never enter a real password here.</div>
<main>
${content}
</main>
</body>
</html>
`;
}

export function renderPicker(view: PickerPage): string {
  const selected = view.selectedUpn?.toLowerCase() ?? view.personas[0]?.upn.toLowerCase();
  const personas = view.personas
    .map((persona, index) => {
      const id = `persona-${index}`;
      const roles = persona.roles.length > 0 ? persona.roles.join(', ') : 'none';
      return `<div class="persona">
<input type="radio" id="${id}" name="upn" value="${escapeHtml(persona.upn)}"${persona.upn.toLowerCase() === selected ? ' checked' : ''} required>
<label for="${id}"><strong>${escapeHtml(persona.name)}</strong>
<span class="upn">${escapeHtml(persona.upn)}</span>
<span class="meta">${escapeHtml(persona.jobTitle)}</span>
<span class="roles">KeyDesk roles: ${escapeHtml(roles)}</span></label>
</div>`;
    })
    .join('\n');
  const stepUp =
    view.stepUpContexts.length > 0
      ? `<fieldset>
<legend>Step-up (MFA) required</legend>
<p>${escapeHtml(view.appName)} asks for authentication context ${escapeHtml(view.stepUpContexts.join(', '))}, which Conditional Access protects with multi-factor authentication.</p>
<div class="persona"><input type="checkbox" id="step-up" name="stepUp" value="done" checked>
<label for="step-up">Complete step-up (MFA) for ${escapeHtml(view.stepUpContexts.join(', '))}</label></div>
</fieldset>`
      : '';
  return page(
    `Sign in to ${view.appName}`,
    `<h1>Sign in to ${escapeHtml(view.appName)}</h1>
<p class="meta">Contoso (${escapeHtml(view.domain)}) · tenant ${escapeHtml(view.tenantId)}</p>
${view.reason ? `<p class="reason">${escapeHtml(view.reason)}</p>` : ''}
<form method="post" action="${escapeHtml(view.action)}">
<input type="hidden" name="ctx" value="${escapeHtml(view.ctx)}">
<fieldset>
<legend>Choose who signs in</legend>
${personas}
</fieldset>
${stepUp}
<button type="submit" name="action" value="signin">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</form>`,
  );
}

/** response_mode=form_post: Entra's page posts itself with script; this one asks for a click. */
export function renderFormPost(redirectUri: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    'Continue',
    `<h1>Signed in</h1>
<form method="post" action="${escapeHtml(redirectUri)}">
${inputs}
<button type="submit">Continue to the application</button>
</form>`,
  );
}

export function renderMessage(title: string, paragraphs: string[]): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}`);
}
