import type { Caller, GraphAuthorization } from './graph-auth.js';
import type { Listing } from './graph-listing.js';
import { parseFilter, parseSelect, parseTop, type FilterClause, type FilterRules } from './graph-query.js';
import { USER_EXTRA_PROPERTIES, pick, propertyMap, userExtra, userJson, type Json } from './graph-resources.js';
import { GraphFailure, type GraphRequest, type Ids } from './graph-wire.js';
import type { SimUser } from './organisation.js';

/**
 * `/v1.0/users` and `/v1.0/users/{id | userPrincipalName}` as the directory answers them: the
 * default property set unless `$select` names others (`accountEnabled` only when selected),
 * `$filter` on `userPrincipalName`, `mail`, `displayName` (eq, startswith) and `id` (eq),
 * compared without regard to case, with `User.Read.All` or a directory-wide read permission.
 */

export const USER_READ = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];

export interface UserEndpoints {
  listUsers(request: GraphRequest, caller: Caller, ids: Ids): Json;
  getUser(request: GraphRequest, caller: Caller, ids: Ids, idOrUpn: string): Json;
}

/** A user in the `users` entity set: unlike an owner in a list of directory objects, it does not say its type. */
function withoutType(json: Json): Json {
  const { '@odata.type': _type, ...rest } = json;
  return rest;
}

export function createUserEndpoints(options: { users: readonly SimUser[]; listing: Listing; authorization: GraphAuthorization; pageSize: number }): UserEndpoints {
  const { listing, authorization } = options;
  const users = [...options.users].sort((a, b) => a.id.localeCompare(b.id));
  const defaults = new Map(users.map((u) => [u.id, withoutType(userJson(u))]));
  const everything = new Map(users.map((u) => [u.id, { ...defaults.get(u.id)!, ...userExtra(u) }]));
  const byId = new Map(users.map((u) => [u.id, u]));
  const byUpn = new Map(users.map((u) => [u.userPrincipalName.toLowerCase(), u]));
  const properties = propertyMap(users[0] ? userJson(users[0]) : {}, USER_EXTRA_PROPERTIES);
  const rules: FilterRules = {
    service: 'directory',
    resourceName: 'User',
    filterable: { userPrincipalName: ['eq', 'startswith'], mail: ['eq', 'startswith'], displayName: ['eq', 'startswith'], id: ['eq'] },
    properties,
  };

  function select(request: GraphRequest): string[] | null {
    const text = listing.option(request.query, '$select');
    return text === null ? null : parseSelect(text, properties, 'user', 'directory');
  }

  function render(user: SimUser, selected: string[] | null): Json {
    return selected === null ? defaults.get(user.id)! : pick(everything.get(user.id)!, selected);
  }

  function matching(clause: FilterClause | null): SimUser[] {
    if (clause === null) return users;
    // Entra compares strings without regard to case.
    const value = clause.value.toLowerCase();
    const valueOf = (user: SimUser) => String((everything.get(user.id)! as Record<string, unknown>)[clause.property] ?? '').toLowerCase();
    return users.filter((user) => (clause.operator === 'eq' ? valueOf(user) === value : valueOf(user).startsWith(value)));
  }

  function listUsers(request: GraphRequest, caller: Caller, ids: Ids): Json {
    authorization.requirePermission(caller, USER_READ, 'directory', ids, request.path);
    listing.only(request.query, ['$filter', '$select', '$top', '$skiptoken'], 'directory');
    const filter = listing.option(request.query, '$filter');
    const clause = filter === null ? null : parseFilter(filter, rules);
    const selected = select(request);
    const top = parseTop(listing.option(request.query, '$top'), 'directory');
    return listing.page(request, matching(clause), Math.min(top ?? 100, options.pageSize), 'directory', listing.contextUrl('users', selected), (u) => render(u, selected));
  }

  function getUser(request: GraphRequest, caller: Caller, ids: Ids, idOrUpn: string): Json {
    authorization.requirePermission(caller, USER_READ, 'directory', ids, request.path);
    listing.only(request.query, ['$select'], 'directory');
    const key = idOrUpn.toLowerCase();
    const user = byId.get(key) ?? byUpn.get(key);
    if (!user) throw new GraphFailure(404, 'Request_ResourceNotFound', `Resource '${idOrUpn}' does not exist or one of its queried reference-property objects are not present.`);
    const selected = select(request);
    return { '@odata.context': listing.contextUrl('users', selected, null, true), ...render(user, selected) };
  }

  return { listUsers, getUser };
}
