import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

/**
 * The tenant's token signing key. Entra signs every token with RS256 under a key whose `kid` is
 * the x5t thumbprint of its certificate, and publishes the key in the JWKS with that certificate
 * in `x5c`; the simulator does the same, so a client that pins on `kid`, `x5t` or `x5c` works.
 */
export class TokenSigner {
  readonly kid: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly certificateDer: string;
  private jwk: JWK | null = null;

  constructor(privateKeyPem: string, certificatePem: string) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.publicKey = createPublicKey(this.privateKey);
    const certificate = new X509Certificate(certificatePem);
    this.certificateDer = certificate.raw.toString('base64');
    this.kid = createHash('sha1').update(certificate.raw).digest('base64url');
  }

  sign(claims: Record<string, unknown>): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: this.kid, kid: this.kid }).sign(this.privateKey);
  }

  /** One JWKS entry; the v2 keys document of a tenant also names the issuer, the v1 one does not. */
  async jwks(issuer?: string): Promise<{ keys: JWK[] }> {
    this.jwk ??= await exportJWK(this.publicKey);
    const entry: JWK & { issuer?: string } = {
      kty: 'RSA',
      use: 'sig',
      kid: this.kid,
      x5t: this.kid,
      n: this.jwk.n ?? '',
      e: this.jwk.e ?? 'AQAB',
      x5c: [this.certificateDer],
    };
    if (issuer) entry.issuer = issuer;
    return { keys: [entry] };
  }

  /** Verifies a token this tenant issued; throws jose's errors otherwise. */
  async verify(token: string, options: { audience: string[]; issuer: string[] }): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      algorithms: ['RS256'],
      audience: options.audience,
      issuer: options.issuer,
      // Entra and Graph allow five minutes of clock skew.
      clockTolerance: 300,
    });
    return payload;
  }
}
