import type { Harness } from '../helpers/app-harness.js';

/** A browser's view of KeyDesk through app.inject: it keeps KeyDesk's cookies between requests. */
export class WebClient {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie line KeyDesk sent, in order. */
  readonly setCookies: string[] = [];

  constructor(
    private readonly harness: Harness,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(method: 'GET' | 'POST', url: string, payload?: Record<string, string>) {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.harness.inject({
      method,
      url,
      headers: {
        'user-agent': 'Mozilla/5.0 (KeyDesk test)',
        ...this.headers,
        ...(cookie ? { cookie } : {}),
        ...(payload ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(payload ? { payload: new URLSearchParams(payload).toString() } : {}),
    });
    const lines = response.headers['set-cookie'];
    for (const line of Array.isArray(lines) ? lines : lines ? [lines] : []) {
      this.setCookies.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(url: string) {
    return this.request('GET', url);
  }

  post(url: string, payload: Record<string, string> = {}) {
    return this.request('POST', url, payload);
  }
}

/** The path and query of a redirect to KeyDesk itself (Entra redirects to the absolute URL). */
export function pathOf(location: string): string {
  const url = new URL(location, 'http://keydesk.invalid');
  return url.pathname + url.search;
}
