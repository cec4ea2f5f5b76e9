import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * A minimal browser for the simulated sign-in, for tests of KeyDesk's web UI without a real
 * browser: it keeps the simulated tenant's SSO cookie, opens an authorize URL, picks a persona on
 * the picker page (as a person would, by posting its form) and hands back where Entra redirects.
 * It trusts the simulator's CA itself, since the test process was not started with it.
 */

export interface BrowserResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SignInResult {
  /** True when the tenant redirected without showing the picker (single sign-on). */
  silent: boolean;
  /** The picker page's HTML when one was shown. */
  page: string | null;
  /** The response that ends the sign-in: usually a 302 to the app's redirect URI. */
  response: BrowserResponse;
  /** `location` of that response, if any. */
  location: string | null;
  /** The query (or fragment) parameters of `location`: `code`, `state`, or `error`. */
  params: URLSearchParams;
}

export class SimulatedBrowser {
  private readonly ca: string;
  /** Cookies by host (host:port). */
  readonly cookies = new Map<string, Map<string, string>>();

  constructor(caCertPath: string) {
    this.ca = readFileSync(caCertPath, 'utf8');
  }

  fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<BrowserResponse> {
    const target = new URL(url);
    const body = init.form ? new URLSearchParams(init.form).toString() : null;
    const jar = this.cookies.get(target.host);
    const headers: Record<string, string> = { 'user-agent': 'KeyDesk-SimulatedBrowser/1.0', accept: 'text/html' };
    if (jar && jar.size > 0) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (body !== null) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(target, { method: init.method ?? (body === null ? 'GET' : 'POST'), headers, ...(target.protocol === 'https:' ? { ca: this.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          this.remember(target.host, res.headers['set-cookie']);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  private remember(host: string, setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const jar = this.cookies.get(host) ?? new Map<string, string>();
      this.cookies.set(host, jar);
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }

  /**
   * Opens `authorizeUrl`; if the picker is shown, signs in as `upn` (and completes step-up unless
   * `stepUp: false`), or cancels. Resolves with the redirect back to the application.
   */
  async signIn(authorizeUrl: string, options: { upn: string; stepUp?: boolean; cancel?: boolean }): Promise<SignInResult> {
    const first = await this.fetch(authorizeUrl);
    if (first.status !== 200 || !first.body.includes('name="ctx"')) return this.result(first, true, null);
    const ctx = /name="ctx" value="([^"]+)"/.exec(first.body)?.[1];
    const action = /<form method="post" action="([^"]+)"/.exec(first.body)?.[1];
    if (!ctx || !action) throw new Error('the simulated sign-in page has no form to submit');
    const form: Record<string, string> = { ctx, upn: options.upn, action: options.cancel ? 'cancel' : 'signin' };
    if (first.body.includes('name="stepUp"') && options.stepUp !== false) form.stepUp = 'done';
    const second = await this.fetch(new URL(action.replaceAll('&amp;', '&'), authorizeUrl).toString(), { form });
    return this.result(second, false, first.body);
  }

  private result(response: BrowserResponse, silent: boolean, page: string | null): SignInResult {
    const location = typeof response.headers.location === 'string' ? response.headers.location : null;
    let params = new URLSearchParams();
    if (location) {
      const url = new URL(location);
      params = url.hash.length > 1 ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
    }
    return { silent, page, response, location, params };
  }
}
