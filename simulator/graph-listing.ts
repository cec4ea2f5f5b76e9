import { GraphQueryError, readSkipToken, skipToken, type ExpandClause, type GraphService } from './graph-query.js';
import type { Json } from './graph-resources.js';
import type { GraphRequest } from './graph-wire.js';

/**
 * What every simulated Graph list shares: the query options an endpoint accepts (anything else is
 * Graph's 400), server-driven paging with absolute `@odata.nextLink`s whose skip tokens belong to
 * their query, and the `@odata.context` URL naming what was selected and expanded.
 */

export interface Listing {
  /** Throws Graph's 400 for a `$` option the endpoint does not take. */
  only(query: URLSearchParams, allowedOptions: readonly string[], service: GraphService): void;
  /** A query option by its name, compared without regard to case as Graph does. */
  option(query: URLSearchParams, name: string): string | null;
  /** One page of `items` under server-driven paging. */
  page<T>(request: GraphRequest, items: readonly T[], pageSize: number, service: GraphService, context: string, render: (item: T) => Json): Json;
  contextUrl(entitySet: string, select: readonly string[] | null, expand?: ExpandClause | null, entity?: boolean): string;
}

export function createListing(root: string): Listing {
  function only(query: URLSearchParams, allowedOptions: readonly string[], service: GraphService): void {
    for (const name of query.keys()) {
      if (!name.startsWith('$')) continue;
      const option = name.toLowerCase();
      if (allowedOptions.includes(option)) continue;
      if (option === '$count' || option === '$orderby' || option === '$search') {
        throw new GraphQueryError(
          400,
          service === 'directory' ? 'Request_UnsupportedQuery' : 'BadRequest',
          `The query option '${name}' needs advanced query capabilities (ConsistencyLevel: eventual), which the simulated tenant does not offer.`,
        );
      }
      throw new GraphQueryError(400, service === 'directory' ? 'Request_BadRequest' : 'BadRequest', `The query specified in the URI is not valid. The query option '${name}' is not supported here.`);
    }
  }

  function option(query: URLSearchParams, name: string): string | null {
    for (const [key, value] of query) if (key.toLowerCase() === name) return value;
    return null;
  }

  function nextLink(request: GraphRequest, offset: number, identity: string): string {
    const parts: string[] = [];
    for (const [name, value] of request.query) if (name.toLowerCase() !== '$skiptoken') parts.push(`${name}=${encodeURIComponent(value)}`);
    parts.push(`$skiptoken=${skipToken(offset, identity)}`);
    return `${root}${request.path}?${parts.join('&')}`;
  }

  function identityOf(request: GraphRequest): string {
    const items: string[] = [request.path.toLowerCase()];
    for (const [name, value] of request.query) if (name.toLowerCase() !== '$skiptoken') items.push(`${name.toLowerCase()}=${value}`);
    return items.join('&');
  }

  function page<T>(request: GraphRequest, items: readonly T[], pageSize: number, service: GraphService, context: string, render: (item: T) => Json): Json {
    const identity = identityOf(request);
    const token = option(request.query, '$skiptoken');
    const offset = token === null ? 0 : readSkipToken(token, identity, service);
    const body: Json = { '@odata.context': context, value: items.slice(offset, offset + pageSize).map(render) };
    if (offset + pageSize < items.length) body['@odata.nextLink'] = nextLink(request, offset + pageSize, identity);
    return body;
  }

  function contextUrl(entitySet: string, select: readonly string[] | null, expand: ExpandClause | null = null, entity = false): string {
    const members = [...(select ?? [])];
    if (expand) members.push(`${expand.navigation}(${expand.select?.join(',') ?? ''})`);
    return `${root}/v1.0/$metadata#${entitySet}${members.length > 0 ? `(${members.join(',')})` : ''}${entity ? '/$entity' : ''}`;
  }

  return { only, option, page, contextUrl };
}
