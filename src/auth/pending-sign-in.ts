import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * A sign-in sent to Entra and not yet back, kept in the browser rather than on the server: an
 * anonymous visitor who starts a thousand sign-ins costs KeyDesk nothing to remember. (A form kept
 * across a re-authentication stays in the staff session, which exists by then: a cookie has room
 * for 4 KB at most.) The cookie
 * is sealed with AES-256-GCM under a key derived from SESSION_SECRET, so the browser can neither
 * read the PKCE verifier and nonce nor change the return path, and it lives 10 minutes.
 */

export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** max_age sent to Entra (seconds), for a re-authentication; null for an ordinary sign-in. */
  maxAge: number | null;
  /** Authentication context asked for with a claims request; null when none. */
  authContext: string | null;
  /** When the sign-in was sent to Entra (ms). */
  startedAt: number;
}

export const PENDING_SIGN_IN_LIFETIME_MS = 10 * 60_000;

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class PendingSignInSeal {
  readonly #key: Buffer;

  constructor(
    sessionSecret: string,
    private readonly now: () => number,
  ) {
    this.#key = Buffer.from(hkdfSync('sha256', sessionSecret, 'keydesk', 'pending-sign-in cookie v1', 32));
  }

  seal(pending: PendingSignIn): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(pending), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  /** The pending sign-in, if the cookie is one KeyDesk sealed and it is not older than 10 minutes; else null. */
  open(value: string | undefined): PendingSignIn | null {
    if (typeof value !== 'string' || value.length > 8192) return null;
    const bytes = Buffer.from(value, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const json = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      const pending = JSON.parse(json) as PendingSignIn;
      const age = this.now() - pending.startedAt;
      return age >= 0 && age <= PENDING_SIGN_IN_LIFETIME_MS ? pending : null;
    } catch {
      return null;
    }
  }
}
