import { Agent, request } from 'node:https';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

/**
 * The end of KeyDesk's Graph middleware chain: sends the request with node:https over a pool of
 * kept-alive connections. The SDK's own HTTPMessageHandler uses fetch, whose stream and abort
 * machinery cost about a fifth of KeyDesk's CPU per disclosure in the benchmark (bench/RESULTS.md);
 * Graph answers are small JSON bodies that gain nothing from streaming: the body is read whole
 * before the answer is handed back, inside the attempt's timeout (the signal aborts the request).
 */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

export class HttpsTransport implements Middleware {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

  setNext(): void {
    // The last link: there is nothing after it.
  }

  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const options = context.options ?? {};
    const headers: Record<string, string> = {};
    new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => {
      headers[name] = value;
    });
    const body = typeof options.body === 'string' ? options.body : undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

    context.response = await new Promise<Response>((resolve, reject) => {
      const outgoing = request(url, { method: options.method ?? 'GET', headers, agent: this.agent, signal: options.signal ?? undefined }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const status = incoming.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (value === undefined) continue;
            for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
          }
          // `new Response` refuses a body for these statuses.
          const payload = NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks);
          resolve(new Response(payload, { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders }));
        });
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
