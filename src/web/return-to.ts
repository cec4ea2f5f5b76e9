/**
 * Where a sign-in may send the browser afterwards: a path of KeyDesk itself, never another site.
 * `//evil.example`, `/\evil.example` and absolute URLs would be an open redirect, and a return to
 * /auth/… would loop; each of them lands on the home page instead.
 */

const BASE = 'http://keydesk.invalid';
const MAX_LENGTH = 2_048;

export function safeReturnTo(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > MAX_LENGTH) return '/';
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\') || hasControlCharacter(raw)) return '/';
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE || url.pathname.startsWith('/auth/') || url.pathname.startsWith('/api/')) return '/';
  return url.pathname + url.search;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
