import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTPS plumbing both simulated hosts share. Plain node:https rather than a framework: the
 * benchmark pushes thousands of Graph requests a second through the simulator on the same two
 * cores as KeyDesk and the load generator, so the simulator's own cost must stay small.
 */

export interface SimResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export type SimHandler = (request: IncomingMessage, response: ServerResponse) => void;

export class BodyTooLarge extends Error {}

/** The request body as text, refusing more than `limit` bytes. */
export function readBody(request: IncomingMessage, limit = 1_048_576): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge(`request body over ${limit} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export function send(response: ServerResponse, answer: SimResponse): void {
  if (response.destroyed || response.writableEnded) return;
  response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  response.end(answer.body);
}

/** Timers that hold answers back (latency, slow requests), cleared when the simulator closes. */
export class Delays {
  private readonly pending = new Set<NodeJS.Timeout>();

  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve();
      }, ms);
      this.pending.add(timer);
    });
  }

  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

export interface Listener {
  port: number;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Loopback only. `hosts[0]` picks the port (0 = any free one); the other hosts listen on the same
 * port, so `localhost` works whether it resolves to 127.0.0.1 or ::1. A host the machine lacks
 * (no IPv6) is skipped.
 */
export async function startListener(tls: { key: string; cert: string }, hosts: string[], port: number, handler: SimHandler): Promise<Listener> {
  const servers: Server[] = [];
  const make = () => {
    const server = createServer({ key: tls.key, cert: tls.cert }, handler);
    // Longer than undici's default keep-alive, so clients reuse connections instead of racing a close.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    servers.push(server);
    return server;
  };
  const [first, ...others] = hosts;
  if (first === undefined) throw new TypeError('startListener needs a host');
  const chosen = await listen(make(), first, port);
  for (const host of others) {
    const server = make();
    try {
      await listen(server, host, chosen);
    } catch (error) {
      servers.pop();
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT' && code !== 'EADDRINUSE') {
        await Promise.all(servers.map(closeServer));
        throw error;
      }
    }
  }
  return {
    port: chosen,
    close: async () => {
      await Promise.all(servers.map(closeServer));
    },
  };
}
