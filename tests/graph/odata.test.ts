import { describe, expect, it } from 'vitest';
import { odataString, pathSegment, queryString } from '../../src/graph/odata.js';

describe('odataString', () => {
  it('quotes a value and doubles the single quotes inside it', () => {
    expect(odataString("O'NEIL-PC")).toBe("'O''NEIL-PC'");
    expect(odataString("x' or displayName eq 'y")).toBe("'x'' or displayName eq ''y'");
    expect(odataString('')).toBe("''");
  });
});

describe('queryString', () => {
  it('percent-encodes every value so no &, =, #, + or % survives raw', () => {
    const query = queryString({ $filter: "displayName eq 'R&D-PC#1+2=50%'", $top: 100 });

    expect(query).toBe('?$filter=displayName%20eq%20\'R%26D-PC%231%2B2%3D50%25\'&$top=100');
    expect(new URLSearchParams(query).get('$filter')).toBe("displayName eq 'R&D-PC#1+2=50%'");
  });

  it('refuses an option name that is not a plain (optionally $-prefixed) word', () => {
    expect(() => queryString({ 'a&b': 'x' })).toThrow(TypeError);
  });

  it('is empty without options', () => {
    expect(queryString({})).toBe('');
  });
});

describe('pathSegment', () => {
  it('encodes separators so a value stays one segment', () => {
    expect(pathSegment('a/b?c#d')).toBe('a%2Fb%3Fc%23d');
  });
});
