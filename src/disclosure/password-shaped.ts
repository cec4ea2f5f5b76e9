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
