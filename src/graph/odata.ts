/**
 * OData literals and query strings for Graph. The Graph SDK neither escapes OData literals nor
 * percent-encodes what `.api()`, `.filter()` or `.query()` receive, so KeyDesk does both here: a
 * device name holding `'`, `&`, `#`, `+` or `%` must arrive at Graph as one literal inside one
 * `$filter`, never as extra query parameters or a cut-off filter.
 */

/** An OData string literal: single quotes around, inner single quotes doubled (`O'NEIL` -> `'O''NEIL'`). */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const OPTION_NAME = /^\$?[A-Za-z]+$/;

/**
 * `?name=value&…` with every value percent-encoded. Encoded values hold no raw `&` or `=`, which is
 * what lets them pass unharmed through the SDK's `parsePath` (it splits the query on `&` and on
 * the first `=`, then joins it again without decoding). Names stay literal: Graph wants `$filter`.
 */
export function queryString(options: Record<string, string | number>): string {
  const parts = Object.entries(options).map(([name, value]) => {
    if (!OPTION_NAME.test(name)) throw new TypeError(`not a query option name: ${name}`);
    return `${name}=${encodeURIComponent(String(value))}`;
  });
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/**
 * One path segment, encoded. `encodeURIComponent` leaves `.` alone, so `..` would still walk up the
 * path once the URL is normalised: callers validate identifiers (GUIDs) before building a path.
 */
export function pathSegment(value: string): string {
  return encodeURIComponent(value);
}
