import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StaffUser } from '../auth/staff-session.js';
import type { KeyDeskProblem } from '../problem/problem.js';
import { FAVICON_PATH, STYLESHEET_PATH } from './assets.js';
import { html, type SafeHtml } from './html.js';
import { APP_ROLES } from '../auth/roles.js';
import { staffHasRole } from '../auth/staff-session.js';

/**
 * The frame every page shares: a header naming who is signed in, with the sign-out form. No
 * inline script or style; everything interpolated is escaped.
 */

/** Who a page is rendered for, with the CSRF token its sign-out form needs (every form has one). */
export interface PageViewer extends StaffUser {
  signOutCsrf: string;
}

export function viewerOf(request: FastifyRequest, reply: FastifyReply): PageViewer | null {
  // Outside the web UI's routes (a page that does not exist) there is no session to sign out of.
  if (!request.staff || typeof reply.generateCsrf !== 'function') return null;
  return { ...request.staff, signOutCsrf: reply.generateCsrf() };
}

/** Staff pages link the staff's pages; the self-service pages (`employee`) link the employee's own devices only. */
export function staffHeader(staff: PageViewer | null, employee = false): SafeHtml {
  if (!staff) return html`<header><strong><a href="${employee ? '/self-service/' : '/'}">KeyDesk</a></strong></header>`;
  const nav = employee
    ? html`<nav><a href="/self-service/">My devices</a></nav>`
    : html`<nav><a href="/my/disclosures">My disclosures</a>${staffHasRole(staff, APP_ROLES.audit) ? html` · <a href="/audit">Audit trail</a>` : ''}${
        staffHasRole(staff, [APP_ROLES.lookup, APP_ROLES.audit]) ? html` · <a href="/reports/escrow-coverage">Escrow coverage</a> · <a href="/rotations">Rotations</a>` : ''
      }</nav>`;
  return html`<header>
<strong><a href="${employee ? '/self-service/' : '/'}">KeyDesk</a></strong>
${nav}
<p class="signed-in">Signed in as <span class="staff-name">${staff.name}</span> (<span class="staff-upn">${staff.upn}</span>)</p>
<form method="post" action="/auth/sign-out"><input type="hidden" name="_csrf" value="${staff.signOutCsrf}"><button type="submit">Sign out</button></form>
</header>`;
}

export function layout(options: { title: string; staff: PageViewer | null; body: SafeHtml; script?: string; employee?: boolean }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · KeyDesk</title>
<link rel="icon" href="${FAVICON_PATH}">
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${options.script ? html`<script src="${options.script}" defer></script>\n` : ''}</head>
<body>
${staffHeader(options.staff, options.employee ?? false)}
<main>
${options.body}
</main>
</body>
</html>
`.value;
}

export interface MessagePageOptions {
  title: string;
  code?: string;
  staff?: PageViewer | null;
  paragraphs: string[];
  links?: { href: string; text: string }[];
}

/** A page that says what happened and what to do next, with KeyDesk's stable code for it. */
export function messagePage(options: MessagePageOptions): string {
  const body = html`<h1>${options.title}</h1>
${options.paragraphs.map((p) => html`<p>${p}</p>\n`)}
${options.code ? html`<p class="code">Code: <code>${options.code}</code></p>` : ''}
${options.links?.length ? html`<p class="links">${options.links.map((link, i) => html`${i > 0 ? ' · ' : ''}<a href="${link.href}">${link.text}</a>`)}</p>` : ''}`;
  return layout({ title: options.title, staff: options.staff ?? null, body });
}

/** A problem as a page: its title, what to do (its detail), its code, and a way back. */
export function renderProblemPage(request: FastifyRequest, reply: FastifyReply, problem: KeyDeskProblem): string {
  return messagePage({ title: problem.title, code: problem.code, staff: viewerOf(request, reply), paragraphs: [problem.detail], links: [{ href: '/', text: 'Go to the home page' }] });
}

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}
