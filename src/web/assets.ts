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

const STYLESHEET = `:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --accent: #0b5cad; --warn-bg: #fff4ce; --error-bg: #fde7e9; --line: #c8c8c8; --gutter: 1.5rem; }
@media (max-width: 40rem) { :root { --gutter: 1rem; } }
* { box-sizing: border-box; }
/* Long words (UPNs, GUIDs, device names) break rather than push the page wider than the screen. */
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; overflow-wrap: break-word; }
h1 { font-size: clamp(1.5rem, 1.2rem + 1.5vw, 2rem); line-height: 1.25; }
.demo-banner { margin: 0; padding: .5rem var(--gutter); background: #7a1f00; color: #fff; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem var(--gutter); border-bottom: 1px solid var(--line); background: #f3f6fa; }
header p { margin: 0; }
header nav { margin-right: auto; }
.signed-in { min-width: 0; overflow-wrap: anywhere; }
main { max-width: 80rem; padding: var(--gutter); margin: 0 auto; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0; }
.date { white-space: nowrap; }
code { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; overflow-wrap: anywhere; }

/* Forms: a field is as wide as the screen allows, up to a width that shows a whole UPN. */
label { display: block; font-weight: 600; margin-top: 1rem; }
.hint { display: block; font-weight: normal; color: var(--muted); font-size: .9rem; }
input, select, textarea { font: inherit; padding: .4rem .5rem; border: 1px solid #767676; border-radius: 3px; width: 100%; max-width: 36rem; }
input[type="radio"], input[type="checkbox"] { width: auto; }
textarea { display: block; }
fieldset { border: 1px solid var(--line); margin-top: 1rem; min-width: 0; max-width: 36rem; }
fieldset label { display: inline; font-weight: normal; margin: 0 0 0 .35rem; }
/* The audit filters: a group of fields side by side on a wide screen, one column on a narrow one. */
.audit-filters fieldset.filter-group { max-width: none; display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 0 1.25rem; padding-bottom: .75rem; }
.audit-filters legend { font-weight: 600; padding: 0 .35rem; }
.audit-filters fieldset.filter-group label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
.choice { display: inline-block; margin-right: 1.25rem; white-space: nowrap; }
button { font: inherit; padding: .45rem 1rem; margin-top: 1rem; border: 0; border-radius: 3px; background: var(--accent); color: #fff; cursor: pointer; }
button[aria-pressed="true"] { background: #fff; color: var(--accent); box-shadow: inset 0 0 0 2px var(--accent); }
button:disabled { background: #767676; cursor: not-allowed; }
header button { margin-top: 0; }
form.rotate-now { margin: 0; }
form.rotate-now button, .rotation-filter button { margin-top: .25rem; }

/* The device's facts: a term beside its value, or above it on a narrow screen. */
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .35rem 1.5rem; }
dt { font-weight: 600; }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { dl { grid-template-columns: minmax(0, 1fr); gap: 0; } dt:not(:first-child) { margin-top: .6rem; } }

/* Result tables: columns on a wide screen, one card per row on a narrow one (labels from data-label). */
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; font-size: .9375rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
/* A column is as narrow as its longest word: tickets, codes and dates stay whole, IDs break at
   their hyphens, UPNs after their "@" (a <wbr>); a device name may break anywhere. */
td, td code { overflow-wrap: break-word; }
td:first-child a { overflow-wrap: anywhere; }
tr.duplicate { background: var(--warn-bg); }
@media (max-width: 60rem) {
  table.results, table.results caption, table.results tbody, table.results tr, table.results td { display: block; }
  table.results thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.results tr { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .5rem 1rem; padding: .75rem; margin-bottom: .75rem; border: 1px solid var(--line); border-radius: 4px; }
  table.results tr.duplicate { border-left: 4px solid #8a6d00; }
  table.results td { padding: 0; border: 0; min-width: 0; }
  table.results td, table.results td code, table.results .upn { overflow-wrap: anywhere; }
  table.results td:first-child { grid-column: 1 / -1; font-size: 1.1rem; font-weight: 600; }
  table.results td:not(:first-child)::before { content: attr(data-label); display: block; font-size: .8rem; font-weight: 600; color: var(--muted); }
}

.notice { background: var(--warn-bg); padding: .75rem 1rem; border-left: 4px solid #8a6d00; }
.refusal { background: var(--error-bg); padding: .75rem 1rem; border-left: 4px solid #a4262c; }
.refusal h2 { margin-top: 0; }

/* Self-service: an employee's devices as tappable cards, one column on a phone. */
.device-cards { list-style: none; padding: 0; margin: 1rem 0; display: grid; gap: .75rem; }
.device-card a { display: block; padding: .9rem 1rem; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; min-width: 0; overflow-wrap: anywhere; }
.device-name { display: block; font-size: 1.15rem; font-weight: 600; }
.device-meta { display: block; color: var(--muted); font-size: .9rem; }
.self-service-form input, .self-service-form select, .self-service-form textarea { width: 100%; max-width: 100%; box-sizing: border-box; font-size: 1rem; }
.self-service-form button { width: 100%; padding: .75rem; font-size: 1.05rem; }
.key-intro { font-size: 1.05rem; }

/* The key page: 8 groups, 4 or 2 to a row; the spelled-out digits wrap under their group. */
.recovery-password { display: grid; grid-template-columns: repeat(4, max-content); gap: .75rem 1.5rem; list-style: none; padding: 0; margin: 1.5rem 0; }
.recovery-password li { display: flex; flex-direction: column; align-items: center; min-width: 0; }
.group-number { font-size: .85rem; color: var(--muted); }
.group { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 2.25rem; letter-spacing: .08em; white-space: nowrap; }
.group-words { contain: inline-size; align-self: stretch; text-align: center; white-space: pre-line; font-size: .9rem; color: var(--muted); }
@media (max-width: 40rem) { .recovery-password { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .75rem 1rem; } .group { font-size: 2rem; } }
.key-controls { display: flex; flex-wrap: wrap; gap: 0 .75rem; }
`;

const KEY_PAGE_SCRIPT = `'use strict';
(function () {
  var password = document.getElementById('recovery-password');
  if (!password) return;
  var countdown = document.getElementById('countdown');
  var announcer = document.getElementById('key-announcer');
  var controls = document.querySelector('.key-controls');
  var copy = document.getElementById('copy-password');
  var readAloud = document.getElementById('read-aloud');
  var pause = document.getElementById('pause-countdown');
  var extend = document.getElementById('extend-countdown');
  var displaySeconds = Number(password.getAttribute('data-display-seconds')) || 60;
  var maxSeconds = Number(password.getAttribute('data-max-seconds')) || displaySeconds * 3;
  // Deadlines on the clock, not a count of ticks: a throttled timer (a background tab, a laptop
  // waking up) makes a tick late, never the countdown longer. The hard limit has a timer of its own.
  var loadedAt = Date.now();
  var hardDeadline = loadedAt + maxSeconds * 1000;
  var deadline = loadedAt + displaySeconds * 1000;
  var pausedLeft = null;
  var timer = null;
  var hardTimer = null;
  var lastLeft = displaySeconds;
  var removed = false;
  var DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  var ANNOUNCE_AT = [30, 10];

  // Until removal: the countdown's end (or, paused, no end), and never past the hard limit.
  var copied = false;
  function msLeft(now) {
    var end = pausedLeft === null ? Math.min(deadline, hardDeadline) : hardDeadline;
    return Math.max(0, end - now);
  }
  function say(text) {
    if (announcer) announcer.textContent = text;
  }
  function remove() {
    if (removed) return;
    removed = true;
    clearTimeout(timer);
    clearTimeout(hardTimer);
    // A copied password would otherwise wait on the clipboard for the next paste, into a ticket or
    // a search box: overwrite it when the page lets go of the password (best effort: a browser may
    // refuse when the page is not focused).
    if (copied && navigator.clipboard) navigator.clipboard.writeText('').catch(function () {});
    password.remove();
    if (controls) controls.remove();
    var gone = 'The recovery password has been removed from this page. To show it again, make a new disclosure.';
    if (countdown) countdown.textContent = gone;
    say(gone);
  }
  function seconds(n) {
    return n + (n === 1 ? ' second' : ' seconds');
  }
  function render(left) {
    if (!countdown) return;
    countdown.textContent = pausedLeft === null
      ? 'The recovery password disappears in ' + seconds(left) + '.'
      : 'Countdown paused with ' + seconds(Math.min(left, Math.ceil(pausedLeft / 1000))) + ' left. The recovery password disappears in ' + seconds(left) + ' at the latest.';
  }
  // The live region speaks when the time left crosses 30 s or 10 s, not every second; a button
  // press that changes the time left answers for itself (aria-pressed, the countdown's text).
  function announce(left) {
    ANNOUNCE_AT.forEach(function (mark) {
      if (lastLeft > mark && left <= mark) say('The recovery password disappears in ' + seconds(left) + '.');
    });
    lastLeft = left;
  }
  function update(announcing) {
    var now = Date.now();
    var ms = msLeft(now);
    if (ms <= 0) return remove();
    var left = Math.ceil(ms / 1000);
    render(left);
    if (announcing) announce(left);
    else lastLeft = left;
    clearTimeout(timer);
    timer = setTimeout(tick, ms % 1000 || 1000);
  }
  function tick() {
    update(true);
  }

  function words(digits) {
    return digits.split('').map(function (digit) { return DIGITS[Number(digit)] || digit; }).join(' ');
  }
  // Three digits to a line, as a group of six is read out: "four zero nine / two three three".
  function spell(group) {
    return words(group.slice(0, 3)) + '\\n' + words(group.slice(3));
  }
  function toggleReadAloud() {
    var on = readAloud.getAttribute('aria-pressed') !== 'true';
    readAloud.setAttribute('aria-pressed', String(on));
    Array.prototype.forEach.call(password.querySelectorAll('li'), function (item) {
      var group = item.querySelector('.group');
      var words = item.querySelector('.group-words');
      if (!group || !words) return;
      words.textContent = on ? spell(group.textContent || '') : '';
      words.hidden = !on;
    });
  }
  function togglePause() {
    var now = Date.now();
    if (pausedLeft === null) {
      pausedLeft = Math.max(0, deadline - now);
      pause.setAttribute('aria-pressed', 'true');
    } else {
      deadline = now + pausedLeft;
      pausedLeft = null;
      pause.setAttribute('aria-pressed', 'false');
    }
    update(false);
  }
  function extendOnce() {
    if (pausedLeft === null) deadline += displaySeconds * 1000;
    else pausedLeft += displaySeconds * 1000;
    extend.disabled = true;
    update(false);
  }
  function copyPassword() {
    var groups = Array.prototype.map.call(password.querySelectorAll('.group'), function (g) { return g.textContent; });
    navigator.clipboard.writeText(groups.join('-')).then(function () { copied = true; copy.textContent = 'Copied (cleared when the password goes)'; }, function () { copy.textContent = 'Copy failed: read the groups aloud'; });
  }
  function offer(button, onClick) {
    if (!button) return;
    button.hidden = false;
    button.addEventListener('click', onClick);
  }

  offer(copy, copyPassword);
  offer(readAloud, toggleReadAloud);
  offer(pause, togglePause);
  offer(extend, extendOnce);
  // The hard limit has its own timer, whatever the countdown does.
  hardTimer = setTimeout(remove, maxSeconds * 1000);
  // Leaving the page (or putting it in the back/forward cache) removes the password too.
  window.addEventListener('pagehide', remove);
  tick();
})();
`;

export default async function assets(app: FastifyInstance): Promise<void> {
  app.get(STYLESHEET_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));
  app.get(KEY_PAGE_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(KEY_PAGE_SCRIPT));
  app.get(FAVICON_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('image/x-icon').send(FAVICON));
}
