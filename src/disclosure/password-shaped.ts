import { KeyDeskProblem } from '../problem/problem.js';
import type { ValidationError } from '../problem/validation.js';

/**
 * KeyDesk never takes a recovery password as input. One pasted into a field by mistake (the key
 * page's Copy button puts it on the clipboard) would otherwise travel on: quoted in a refusal,
 * kept in an audit record, sent to Graph in a `$filter`. Any member, name or value, holding 8
 * groups of 6 digits (hyphens, spaces or nothing between them) is refused first, and its value is
 * neither echoed, recorded nor logged.
 */

const PASSWORD_SHAPED = /\d{6}(?:[\s-]?\d{6}){7}/;

export const PASSWORD_SHAPED_MESSAGE =
  'looks like a BitLocker recovery password: KeyDesk never takes one as input, so nothing was looked up or kept. Clear the clipboard, and type this field again';

/** The same in a URL as sent: the separators may be percent-encoded or `+`. */
const PASSWORD_SHAPED_IN_URL = /\d{6}(?:(?:[\s+-]|%20|%2[dD])?\d{6}){7}/g;
/** The same without `g`, so `test` keeps no lastIndex between calls (every request is tested). */
const HAS_PASSWORD_SHAPE_IN_URL = new RegExp(PASSWORD_SHAPED_IN_URL.source);

/** True when a URL (path or query string, encoded or not) carries something shaped like a recovery password. */
export function urlHasPasswordShape(url: string): boolean {
  return HAS_PASSWORD_SHAPE_IN_URL.test(url);
}

/** The text with everything shaped like a recovery password replaced: for a URL or path put in a log line or an error body. */
export function withoutPasswordShapes(text: string): string {
  return text.replace(PASSWORD_SHAPED_IN_URL, '[removed: shaped like a recovery password]');
}

/** `invalid_request` for a URL that carries something shaped like a recovery password. */
export function passwordShapedUrlProblem(): KeyDeskProblem {
  const errors: ValidationError[] = [{ location: 'url', path: '/', message: PASSWORD_SHAPED_MESSAGE }];
  return new KeyDeskProblem('invalid_request', `The request is not valid: its URL ${PASSWORD_SHAPED_MESSAGE}.`, { extensions: { errors } });
}

/** JSON pointers of the members of `value` whose name or text looks like a recovery password. */
export function passwordShapedPaths(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return PASSWORD_SHAPED.test(value) ? [path || '/'] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => passwordShapedPaths(item, `${path}/${index}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([name, member]) =>
    PASSWORD_SHAPED.test(name) ? [`${path}/[a member name]`] : passwordShapedPaths(member, `${path}/${name}`),
  );
}

/** `invalid_request` naming where a recovery password was typed, when one was; else null. */
export function passwordShapedProblem(value: unknown, location: string): KeyDeskProblem | null {
  const paths = passwordShapedPaths(value);
  if (paths.length === 0) return null;
  const errors: ValidationError[] = paths.map((path) => ({ location, path, message: PASSWORD_SHAPED_MESSAGE }));
  return new KeyDeskProblem('invalid_request', `The request is not valid: ${paths.map((p) => (p === '/' ? 'it' : p.slice(1))).join(', ')} ${PASSWORD_SHAPED_MESSAGE}.`, { extensions: { errors } });
}
