import type { FastifyInstance } from 'fastify';

/**
 * The web UI's only stylesheet and script, served by KeyDesk itself so the pages' CSP can say
 * `style-src 'self'; script-src 'self'` and carry no inline code. Kept in TypeScript so the build
 * ships them without a copy step.
 */

export const STYLESHEET_PATH = '/assets/keydesk.css';
export const KEY_PAGE_SCRIPT_PATH = '/assets/key-page.js';
export const FAVICON_PATH = '/favicon.ico';

/** A 16 × 16 icon (PNG inside ICO): a key-blue square with a white ring. */
const FAVICON = Buffer.from(
  'AAABAAEAEBAAAAEAIABlAAAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAQAAAAEAgGAAAAH/P/YQAAACxJREFUeNpjYAAC7pi1/8nBDJRohhsy+AwgBOhnALHiw9mAgYuFIZiUKc3OAARTZoOX2nkoAAAAAElFTkSuQmCC',
  'base64',
);

const STYLESHEET = `:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --accent: #0b5cad; --warn-bg: #fff4ce; --error-bg: #fde7e9; --line: #c8c8c8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
.demo-banner { margin: 0; padding: .5rem 1.5rem; background: #7a1f00; color: #fff; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); background: #f3f6fa; }
header p { margin: 0; }
header nav { margin-right: auto; }
main { max-width: 80rem; padding: 1.5rem; margin: 0 auto; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
label { display: block; font-weight: 600; margin-top: 1rem; }
.hint { display: block; font-weight: normal; color: var(--muted); font-size: .9rem; }
input, select, textarea { font: inherit; padding: .4rem .5rem; border: 1px solid #767676; border-radius: 3px; min-width: 18rem; max-width: 100%; }
textarea { display: block; }
fieldset { border: 1px solid var(--line); margin-top: 1rem; width: fit-content; }
fieldset label { display: inline; font-weight: normal; margin-right: 1rem; }
fieldset input { min-width: 0; }
button { font: inherit; padding: .45rem 1rem; margin-top: 1rem; border: 0; border-radius: 3px; background: var(--accent); color: #fff; cursor: pointer; }
header button { margin-top: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.5rem; }
dt { font-weight: 600; }
dd { margin: 0; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td:first-child { white-space: nowrap; }
tr.duplicate { background: var(--warn-bg); }
.notice { background: var(--warn-bg); padding: .75rem 1rem; border-left: 4px solid #8a6d00; }
.refusal { background: var(--error-bg); padding: .75rem 1rem; border-left: 4px solid #a4262c; }
.code code, code { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; }
.recovery-password { display: grid; grid-template-columns: repeat(4, max-content); gap: .75rem 1.5rem; list-style: none; padding: 0; margin: 1.5rem 0; }
.recovery-password li { display: flex; flex-direction: column; align-items: center; }
.group-number { font-size: .85rem; color: var(--muted); }
@media (max-width: 40rem) { .recovery-password { grid-template-columns: repeat(2, max-content); } }
.group { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 2.25rem; letter-spacing: .08em; }
`;

const KEY_PAGE_SCRIPT = `'use strict';
(function () {
  var password = document.getElementById('recovery-password');
  if (!password) return;
  var countdown = document.getElementById('countdown');
  var copy = document.getElementById('copy-password');
  var left = Number(password.getAttribute('data-display-seconds')) || 60;
  var timer = null;
  function remove() {
    if (timer !== null) clearInterval(timer);
    password.remove();
    if (copy) copy.remove();
    if (countdown) countdown.textContent = 'The recovery password has been removed from this page. To show it again, make a new disclosure.';
  }
  function tick() {
    left -= 1;
    if (left <= 0) remove();
    else if (countdown) countdown.textContent = 'The recovery password disappears in ' + left + ' seconds.';
  }
  timer = setInterval(tick, 1000);
  // Leaving the page (or putting it in the back/forward cache) removes the password too.
  window.addEventListener('pagehide', remove);
  if (copy) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      var groups = Array.prototype.map.call(password.querySelectorAll('.group'), function (g) { return g.textContent; });
      navigator.clipboard.writeText(groups.join('-')).then(function () { copy.textContent = 'Copied'; }, function () { copy.textContent = 'Copy failed: read the groups aloud'; });
    });
  }
})();
`;

export default async function assets(app: FastifyInstance): Promise<void> {
  app.get(STYLESHEET_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));
  app.get(KEY_PAGE_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(KEY_PAGE_SCRIPT));
  app.get(FAVICON_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('image/x-icon').send(FAVICON));
}
