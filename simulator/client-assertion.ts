import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';

/**
 * Certificate client credentials (private_key_jwt) checked as Entra checks them: the assertion
 * names a certificate registered on the app by its thumbprint (`x5t#S256`, or the older SHA-1
 * `x5t`), is signed by that certificate's key (PS256, which MSAL 7 uses with a SHA-256
 * thumbprint, or RS256, which it used with SHA-1), says `iss` = `sub` = the client id, `aud` = the
 * token endpoint it is posted to, and is within its lifetime. Each refusal has Entra's AADSTS code.
 */

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const ALGORITHMS = ['PS256', 'RS256'];
/** Entra's token service allows five minutes of clock skew, as IdentityModel does by default. */
const CLOCK_SKEW_SECONDS = 300;
const SEEN_LIMIT = 20_000;
const DOCUMENTATION = 'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.';

export interface RegisteredCertificate {
  /** base64url SHA-1 of the DER: the `x5t` header. */
  x5t: string;
  /** base64url SHA-256 of the DER: the `x5t#S256` header. */
  x5tS256: string;
  publicKey: KeyObject;
  validFrom: string;
  validTo: string;
}

export function registeredCertificate(pem: string): RegisteredCertificate {
  const certificate = new X509Certificate(pem);
  return {
    x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(certificate.raw).digest('base64url'),
    publicKey: certificate.publicKey,
    validFrom: certificate.validFrom,
    validTo: certificate.validTo,
  };
}

export interface AssertionRefusal {
  status: number;
  error: string;
  aadsts: number;
  description: string;
}

export interface AssertionClient {
  clientId: string;
  certificates: readonly RegisteredCertificate[];
}

function refuse(aadsts: number, description: string, status = 401, error = 'invalid_client'): AssertionRefusal {
  return { status, error, aadsts, description };
}

/** `2023-08-01T11:08:01.0000000Z`, the way Entra writes times in AADSTS700024. */
function entraTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** The thumbprint as Entra prints it in its messages: upper-case hex. */
function thumbprintHex(base64url: string): string {
  return Buffer.from(base64url, 'base64url').toString('hex').toUpperCase();
}

function decode(assertion: string): { header: ProtectedHeaderParameters; payload: JWTPayload } | null {
  try {
    return { header: decodeProtectedHeader(assertion), payload: decodeJwt(assertion) };
  } catch {
    return null;
  }
}

/** The registered certificate the header names, or the refusal Entra gives when it names none of them. */
function namedCertificate(header: ProtectedHeaderParameters, client: AssertionClient): { certificate: RegisteredCertificate; thumbprint: string } | AssertionRefusal {
  const sha256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : null;
  const sha1 = typeof header.x5t === 'string' ? header.x5t : null;
  if (sha256 === null && sha1 === null) {
    return refuse(700027, 'Client assertion contains an invalid signature. [Reason - The assertion names no certificate: it has neither an x5t#S256 nor an x5t header.]');
  }
  const found = client.certificates.find((c) => (sha256 !== null ? c.x5tS256 === sha256 : c.x5t === sha1));
  if (found) return { certificate: found, thumbprint: thumbprintHex(sha256 ?? sha1 ?? '') };
  return refuse(
    700027,
    `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprintHex(sha256 ?? sha1 ?? '')}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${client.clientId}'.]`,
  );
}

function audienceMatches(aud: JWTPayload['aud'], audiences: readonly string[]): boolean {
  const values = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
  return values.some((value) => audiences.includes(value));
}

function claimsRefusal(payload: JWTPayload, clientId: string, audiences: readonly string[], now: number): AssertionRefusal | null {
  const same = (value: unknown) => typeof value === 'string' && value.toLowerCase() === clientId.toLowerCase();
  if (!same(payload.iss) || !same(payload.sub)) return refuse(700021, `Client assertion application identifier doesn't match 'client_id' parameter. ${DOCUMENTATION}`);
  if (!audienceMatches(payload.aud, audiences)) return refuse(700023, `Client assertion audience claim does not match Realm issuer. ${DOCUMENTATION}`);
  for (const claim of ['exp', 'jti'] as const) {
    if (payload[claim] === undefined) {
      return refuse(90014, `The required field '${claim}' is missing from the credential. Ensure that you have all the necessary parameters for the login request.`, 400, 'invalid_request');
    }
  }
  const exp = Number(payload.exp);
  const nbf = typeof payload.nbf === 'number' ? payload.nbf : typeof payload.iat === 'number' ? payload.iat : exp - 600;
  if (exp + CLOCK_SKEW_SECONDS < now || nbf - CLOCK_SKEW_SECONDS > now) {
    return refuse(
      700024,
      `Client assertion is not within its valid time range. Current time: ${entraTime(now)}, assertion valid from ${entraTime(nbf)}, expiry time of assertion ${entraTime(exp)}. ${DOCUMENTATION}`,
    );
  }
  return null;
}

export interface AssertionChecker {
  /** null when the assertion authenticates `client` at a token endpoint whose URL is one of `audiences`. */
  check(assertion: string, client: AssertionClient, audiences: readonly string[]): Promise<AssertionRefusal | null>;
}

/**
 * `jti`: Entra takes the same assertion again while it is valid — MSAL reuses its assertion for
 * up to 10 minutes across token requests, and the Azure CLI replays a federated one — so the
 * simulator does too. What it refuses is a different assertion that reuses a `jti` it has seen:
 * a client whose ids are not unique.
 */
export function createAssertionChecker(nowMs: () => number): AssertionChecker {
  const seen = new Map<string, { digest: string; expires: number }>();

  function replayRefusal(assertion: string, payload: JWTPayload, now: number): AssertionRefusal | null {
    const jti = String(payload.jti);
    const digest = createHash('sha256').update(assertion).digest('base64url');
    const previous = seen.get(jti);
    if (previous && previous.expires >= now && previous.digest !== digest) {
      return refuse(50027, `JWT token is invalid or malformed. [Reason - The jti '${jti}' was already used by another client assertion.]`, 400, 'invalid_request');
    }
    if (seen.size >= SEEN_LIMIT) for (const [key, value] of seen) if (value.expires < now) seen.delete(key);
    if (seen.size >= SEEN_LIMIT) seen.clear();
    seen.set(jti, { digest, expires: Number(payload.exp) + CLOCK_SKEW_SECONDS });
    return null;
  }

  async function check(assertion: string, client: AssertionClient, audiences: readonly string[]): Promise<AssertionRefusal | null> {
    const decoded = decode(assertion);
    if (decoded === null) return refuse(50027, 'JWT token is invalid or malformed.', 400, 'invalid_request');
    const { header, payload } = decoded;
    const named = namedCertificate(header, client);
    if ('aadsts' in named) return named;
    const { certificate, thumbprint } = named;
    const algorithm = String(header.alg);
    try {
      if (!ALGORITHMS.includes(algorithm)) throw new Error(`alg ${algorithm}`);
      await compactVerify(assertion, certificate.publicKey, { algorithms: ALGORITHMS });
    } catch {
      return refuse(
        700027,
        `Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value (${algorithm})., Thumbprint of key used by client: '${thumbprint}', Found key 'Start=${certificate.validFrom}, End=${certificate.validTo}']`,
      );
    }
    const now = Math.floor(nowMs() / 1000);
    return claimsRefusal(payload, client.clientId, audiences, now) ?? replayRefusal(assertion, payload, now);
  }

  return { check };
}
