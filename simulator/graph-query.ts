/**
 * The OData query options the simulated Graph understands, parsed as strictly as Graph parses
 * them: a `$filter` must be one of the forms the endpoint supports, written with OData string
 * literals (single quotes, inner quotes doubled); anything else is a 400, as it is in Graph. Names
 * of properties, operators and functions are case-insensitive, as Graph's parser is.
 */

export class GraphQueryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Which service answers: their error codes for a bad query differ. */
export type GraphService = 'directory' | 'intune' | 'bitlocker';

export type FilterOperator = 'eq' | 'startswith';

export interface FilterClause {
  operator: FilterOperator;
  /** The property's canonical name. */
  property: string;
  value: string;
}

export interface FilterRules {
  service: GraphService;
  /** e.g. "Device", for error messages. */
  resourceName: string;
  /** Filterable properties and the operators each supports. */
  filterable: Record<string, readonly FilterOperator[]>;
  /** Every property of the type (lower case -> canonical), to tell "unknown" from "not filterable". */
  properties: ReadonlyMap<string, string>;
}

type Token =
  | { kind: 'name'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'punct'; text: '(' | ')' | ','; at: number }
  | { kind: 'literal'; text: string; at: number };

const OPERATORS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in', 'has', 'not', 'and', 'or']);
const FUNCTIONS = new Set(['startswith', 'endswith', 'contains', 'any', 'all']);

function syntaxError(filter: string, at: number): GraphQueryError {
  const message = `Invalid filter clause: Syntax error at position ${at} in '${filter}'.`;
  return new GraphQueryError(400, 'BadRequest', message);
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= filter.length) throw new GraphQueryError(400, 'BadRequest', `Invalid filter clause: There is an unterminated string literal at position ${start} in '${filter}'.`);
        const d = filter[i]!;
        if (d === "'") {
          if (filter[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: 'string', value, at: start });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < filter.length && /[A-Za-z0-9_./]/.test(filter[i]!)) i++;
      tokens.push({ kind: 'name', text: filter.slice(start, i), at: start });
    } else if (/[0-9-]/.test(c)) {
      const start = i;
      while (i < filter.length && /[0-9A-Za-z.:-]/.test(filter[i]!)) i++;
      tokens.push({ kind: 'literal', text: filter.slice(start, i), at: start });
    } else {
      throw syntaxError(filter, i);
    }
  }
  return tokens;
}

function unsupported(rules: FilterRules, property: string): GraphQueryError {
  if (rules.service === 'directory') {
    return new GraphQueryError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${property}' of resource '${rules.resourceName}'.`);
  }
  const supported = Object.entries(rules.filterable)
    .map(([name, ops]) => ops.map((op) => (op === 'eq' ? `${name} eq` : `startswith(${name},…)`)).join(', '))
    .join(', ');
  return new GraphQueryError(400, 'BadRequest', `Invalid filter clause: the filter on '${property}' is not supported; supported: ${supported}.`);
}

function property(rules: FilterRules, token: Token | undefined, filter: string): string {
  if (token?.kind !== 'name') throw syntaxError(filter, token?.at ?? filter.length);
  const canonical = rules.properties.get(token.text.toLowerCase());
  if (canonical === undefined) {
    throw new GraphQueryError(
      400,
      rules.service === 'directory' ? 'Request_BadRequest' : 'BadRequest',
      `Could not find a property named '${token.text}' on type 'microsoft.graph.${rules.resourceName.charAt(0).toLowerCase()}${rules.resourceName.slice(1)}'.`,
    );
  }
  return canonical;
}

/** One supported clause, or a GraphQueryError shaped as the service would answer. */
export function parseFilter(filter: string, rules: FilterRules): FilterClause {
  const tokens = tokenize(filter);
  const [first, second, third, fourth, fifth, sixth] = tokens;
  let clause: FilterClause;
  let used: number;
  if (first?.kind === 'name' && second?.kind === 'punct' && second.text === '(') {
    const fn = first.text.toLowerCase();
    if (!FUNCTIONS.has(fn)) throw syntaxError(filter, first.at);
    const name = property(rules, third, filter);
    if (fn !== 'startswith') throw unsupported(rules, name);
    if (fourth?.kind !== 'punct' || fourth.text !== ',') throw syntaxError(filter, fourth?.at ?? filter.length);
    if (fifth?.kind !== 'string') throw syntaxError(filter, fifth?.at ?? filter.length);
    if (sixth?.kind !== 'punct' || sixth.text !== ')') throw syntaxError(filter, sixth?.at ?? filter.length);
    clause = { operator: 'startswith', property: name, value: fifth.value };
    used = 6;
  } else {
    const name = property(rules, first, filter);
    if (second?.kind !== 'name' || !OPERATORS.has(second.text.toLowerCase())) throw syntaxError(filter, second?.at ?? filter.length);
    if (second.text.toLowerCase() !== 'eq') throw unsupported(rules, name);
    if (third?.kind !== 'string') {
      // An unquoted GUID or number where the property is a string: Graph's type check refuses it.
      throw new GraphQueryError(400, 'BadRequest', `Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.String' and '${third?.kind === 'literal' ? 'Edm.Guid' : 'Edm.Untyped'}' for operator kind 'Equal'.`);
    }
    clause = { operator: 'eq', property: name, value: third.value };
    used = 3;
  }
  const rest = tokens[used];
  if (rest !== undefined) {
    // Combining clauses is valid OData; the simulated endpoints answer single clauses only.
    if (rest.kind === 'name' && (rest.text.toLowerCase() === 'and' || rest.text.toLowerCase() === 'or')) throw unsupported(rules, clause.property);
    throw syntaxError(filter, rest.at);
  }
  if (!rules.filterable[clause.property]?.includes(clause.operator)) throw unsupported(rules, clause.property);
  return clause;
}

/** `$select=a,b`: canonical names in order, without repeats. */
export function parseSelect(text: string, properties: ReadonlyMap<string, string>, typeName: string, service: GraphService): string[] {
  const names: string[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') throw new GraphQueryError(400, 'BadRequest', `Syntax error: the $select clause '${text}' has an empty property name.`);
    const canonical = properties.get(name.toLowerCase());
    if (canonical === undefined) {
      throw new GraphQueryError(400, service === 'directory' ? 'Request_BadRequest' : 'BadRequest', `Could not find a property named '${name}' on type 'microsoft.graph.${typeName}'.`);
    }
    if (!names.includes(canonical)) names.push(canonical);
  }
  return names;
}

export interface ExpandClause {
  navigation: 'registeredOwners' | 'registeredUsers';
  select: string[] | null;
}

/** `$expand=registeredOwners` or `registeredOwners($select=…)` on a device. */
export function parseExpand(text: string, userProperties: ReadonlyMap<string, string>): ExpandClause {
  const match = /^\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*$/s.exec(text);
  if (!match) {
    const comma = text.includes(',') && !text.includes('(');
    throw new GraphQueryError(400, comma ? 'Request_UnsupportedQuery' : 'BadRequest', comma ? 'Expanding more than one navigation property is not supported on directory objects.' : `Syntax error in $expand: '${text}'.`);
  }
  const name = match[1]!.toLowerCase();
  const navigation = name === 'registeredowners' ? 'registeredOwners' : name === 'registeredusers' ? 'registeredUsers' : null;
  if (navigation === null) {
    const known = ['memberof', 'transitivememberof'].includes(name);
    throw new GraphQueryError(
      400,
      known ? 'Request_UnsupportedQuery' : 'Request_BadRequest',
      known ? `Expanding '${match[1]}' is not supported by the simulated tenant.` : `Could not find a property named '${match[1]}' on type 'microsoft.graph.device'.`,
    );
  }
  let select: string[] | null = null;
  const options = match[2];
  if (options !== undefined) {
    for (const option of options.split(';')) {
      const eq = option.indexOf('=');
      const optionName = option.slice(0, eq === -1 ? undefined : eq).trim().toLowerCase();
      if (optionName !== '$select' || eq === -1) {
        throw new GraphQueryError(400, 'Request_UnsupportedQuery', `The query option '${option.trim()}' is not supported inside $expand on directory objects; only $select is.`);
      }
      select = parseSelect(option.slice(eq + 1), userProperties, 'user', 'directory');
    }
  }
  return { navigation, select };
}

/** `$top`: 1 to 999 on Graph's list endpoints. */
export function parseTop(text: string | null, service: GraphService): number | null {
  if (text === null) return null;
  const value = /^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(value >= 1 && value <= 999)) {
    throw new GraphQueryError(400, service === 'directory' ? 'Request_BadRequest' : 'BadRequest', `Invalid page size specified: '${text}'. Must be between 1 and 999 inclusive.`);
  }
  return value;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/**
 * Graph's skip tokens are opaque; these carry the offset and a fingerprint of the query they
 * belong to, so a token pasted onto another query is refused as Graph refuses it.
 */
export function skipToken(offset: number, queryIdentity: string): string {
  return `RFNwdAIA${Buffer.from(`${offset}:${fnv1a(queryIdentity)}`).toString('base64url')}`;
}

export function readSkipToken(token: string, queryIdentity: string, service: GraphService): number {
  const invalid = () => new GraphQueryError(400, service === 'directory' ? 'Request_BadRequest' : 'BadRequest', 'The provided skip token is invalid or has expired.');
  if (!token.startsWith('RFNwdAIA')) throw invalid();
  const [offset, fingerprint] = Buffer.from(token.slice(8), 'base64url').toString('utf8').split(':');
  if (!offset || !/^\d+$/.test(offset) || fingerprint !== fnv1a(queryIdentity)) throw invalid();
  return Number(offset);
}
