import { AuditFilterQuery } from '../schemas/audit-api.js';

/**
 * Where a sign-in may send the browser afterwards: one of KeyDesk's own pages, never another site.
 * The check is made on the URL as a browser will resolve it (dot segments, encoded slashes and
 * backslashes normalised), and only the paths of KeyDesk's pages survive; anything else — an
 * absolute URL, `//other.site`, `/\other.site`, `/./%2F/other.site`, a path of the API or of
 * /auth/ — lands on the home page.
 */

const BASE = 'https://keydesk.invalid';
const MAX_LENGTH = 2_048;

/** KeyDesk's pages a sign-in may return to. */
const PAGES = [/^\/$/, /^\/self-service\/$/, /^\/self-service\/devices\/[0-9A-Fa-f-]{1,64}$/, /^\/devices\/[0-9A-Fa-f-]{1,64}$/, /^\/my\/disclosures$/, /^\/audit$/, /^\/audit\/records\/[0-9A-Fa-f-]{1,64}$/, /^\/reports\/escrow-coverage$/, /^\/rotations$/];
/** Query parameters a page keeps across a sign-in (the search forms'). */
const KEPT_QUERY: Record<string, readonly string[]> = { '/': ['name', 'match'], '/audit': [...Object.keys(AuditFilterQuery), 'limit'], '/rotations': ['state', 'limit'] };

export function safeReturnTo(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > MAX_LENGTH || !raw.startsWith('/')) return '/';
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE || url.username !== '' || url.password !== '') return '/';
  const path = url.pathname;
  if (!PAGES.some((page) => page.test(path))) return '/';
  const kept = new URLSearchParams();
  for (const name of KEPT_QUERY[path] ?? []) {
    const value = url.searchParams.get(name);
    if (value !== null) kept.set(name, value);
  }
  const query = kept.toString();
  return query === '' ? path : `${path}?${query}`;
}
