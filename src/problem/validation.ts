import type { ErrorObject } from 'ajv';
import { KeyDeskProblem } from './problem.js';

/**
 * Schema validation errors in words a person can act on: `errors: [{ location, path, message }]`.
 * An unknown property is named with the closest known one; an enum lists its values; no message
 * ever shows a regular expression (a field's pattern is described by what it accepts).
 */

export interface ValidationError {
  /** body, querystring, params, or form (the web UI). */
  location: string;
  /** JSON pointer of the member, e.g. /keyId; / for the whole object. */
  path: string;
  message: string;
}

/** What a pattern-checked member accepts, by member name; every pattern KeyDesk uses has an entry. */
const PATTERN_WORDS: Record<string, string> = {
  keyId: 'must be the recovery key ID shown on the recovery screen: at least its first 8 hexadecimal digits (hyphens allowed), or the whole ID',
  keyIdPrefix: 'must be at least the first 8 hexadecimal digits of a recovery key ID (hyphens allowed), or the whole ID',
  deviceId: 'must be an Entra device ID, a GUID such as 6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f',
  requesterUpn: 'must be a user principal name such as ann.lee@contoso.com',
  agentUpn: 'must be a user principal name such as sam.agent@contoso.com',
  deviceName: 'must not contain control characters',
  name: 'must not contain control characters',
  prefix: 'must not contain control characters',
  limit: 'must be a whole number of records per page, from 1 to 500',
};

const FORMAT_WORDS: Record<string, string> = {
  'date-time': 'must be an ISO 8601 date and time such as 2026-12-01T09:00:00Z',
  uuid: 'must be a GUID',
  email: 'must be an email address',
};

export function validationProblem(errors: readonly ErrorObject[], location: string): KeyDeskProblem {
  const described = describeValidationErrors(errors, location);
  const summary = described.map((e) => `${e.path === '/' ? 'the request' : e.path.slice(1)} ${e.message}`).join('; ');
  const end = summary.endsWith('?') ? '' : '.';
  return new KeyDeskProblem('invalid_request', `The request is not valid: ${summary}${end}`, { extensions: { errors: described } });
}

export function describeValidationErrors(errors: readonly ErrorObject[], location: string): ValidationError[] {
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.schemaPath);
  // The branches of a failed oneOf/anyOf each report why they did not fit: the combinator says it once.
  const relevant = errors.filter((e) => !combinators.some((path) => e.schemaPath.startsWith(`${path}/`)));
  const seen = new Set<string>();
  const described: ValidationError[] = [];
  for (const error of relevant) {
    const one = describe(error, location);
    const key = `${one.path} ${one.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    described.push(one);
  }
  return described;
}

function describe(error: ErrorObject, location: string): ValidationError {
  const base = error.instancePath || '';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { location, path: `${base}/${String(params.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return { location, path: `${base}/${String(params.additionalProperty)}`, message: unknownProperty(String(params.additionalProperty), knownProperties(error)) };
    default:
      return { location, path: base || '/', message: messageFor(error, params) };
  }
}

function messageFor(error: ErrorObject, params: Record<string, unknown>): string {
  switch (error.keyword) {
    case 'enum':
      return `must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      return PATTERN_WORDS[lastSegment(error.instancePath)] ?? 'is not in the expected form';
    case 'format':
      return FORMAT_WORDS[String(params.format)] ?? `must be a valid ${String(params.format)}`;
    case 'type':
      return `must be ${article(String(params.type))}`;
    case 'minLength':
      return `must be at least ${String(params.limit)} character${params.limit === 1 ? '' : 's'} long`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters long`;
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    case 'maximum':
      return `must be at most ${String(params.limit)}`;
    case 'oneOf':
      return exactlyOneOf(error) ?? 'does not match exactly one of the allowed forms';
    case 'anyOf':
      return 'does not match any of the allowed forms';
    case 'not':
      return atMostOneOf(error) ?? 'is not in an allowed form';
    default:
      // Ajv's own words, unless they would quote a pattern.
      return error.message && !/pattern/i.test(error.message) ? error.message : 'is not valid';
  }
}

function lastSegment(pointer: string): string {
  return pointer.split('/').pop() ?? '';
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** `oneOf: [{ required: [a] }, { required: [b] }]` means "exactly one of a or b". */
function exactlyOneOf(error: ErrorObject): string | null {
  const branches = Array.isArray(error.schema) ? (error.schema as unknown[]) : [];
  const names = branches.flatMap((branch) => {
    const required = (branch as { required?: unknown }).required;
    return Array.isArray(required) && required.length === 1 ? [String(required[0])] : [];
  });
  return names.length === branches.length && names.length > 1 ? `needs exactly one of ${names.join(' or ')}` : null;
}

/** `not: { required: [a, b] }` means "at most one of a or b". */
function atMostOneOf(error: ErrorObject): string | null {
  const required = (error.schema as { required?: unknown } | undefined)?.required;
  return Array.isArray(required) && required.length > 1 ? `may name at most one of ${required.map(String).join(' or ')}` : null;
}

function knownProperties(error: ErrorObject): string[] {
  const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties) : [];
}

function unknownProperty(name: string, known: string[]): string {
  const closest = closestName(name, known);
  if (closest !== null) return `is not a known property; did you mean "${closest}"?`;
  return known.length > 0 ? `is not a known property; known properties are ${known.join(', ')}` : 'is not a known property';
}

/** The known name nearest in spelling (case ignored), if near enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (best === null || distance < best.distance) best = { name: candidate, distance };
  }
  if (best === null) return null;
  return best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
