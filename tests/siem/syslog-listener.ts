import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';

/**
 * A syslog receiver as a SIEM runs one: TCP or TLS, RFC 5424 messages framed by octet counting
 * (RFC 6587 / RFC 5425). Every frame it takes is also written under test-artifacts, so the
 * suite's secret scan reads what a SIEM would have kept.
 */

export interface SyslogMessage {
  pri: number;
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
  /** The frame's announced length, in bytes. */
  length: number;
}

const RFC5424 = /^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[[^\]]*\])+) ([\s\S]*)$/;

export class SyslogListener {
  readonly messages: SyslogMessage[] = [];
  readonly connections: Socket[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly artifact = join(ARTIFACTS_DIR, 'siem', `syslog-${process.pid}-${Date.now()}.log`);

  private constructor(private readonly server: Server) {
    mkdirSync(join(ARTIFACTS_DIR, 'siem'), { recursive: true });
  }

  static async start(tls?: { key: string; cert: string }, port = 0): Promise<SyslogListener> {
    const server = tls === undefined ? createTcpServer() : createTlsServer({ key: tls.key, cert: tls.cert });
    const listener = new SyslogListener(server);
    server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => listener.accept(socket));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return listener;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Resolves once `count` messages have arrived in all. */
  async received(count: number): Promise<SyslogMessage[]> {
    while (this.messages.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.messages.slice(0, count);
  }

  /** Closes every open connection from the receiver's side and waits until each is gone both ways. */
  async dropConnections(): Promise<void> {
    await Promise.all(
      this.connections.filter((socket) => !socket.destroyed).map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()).end())),
    );
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.connections.push(socket);
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let frame = takeFrame(buffered); frame !== null; frame = takeFrame(buffered)) {
        buffered = frame.rest;
        appendFileSync(this.artifact, `${frame.message}\n`);
        this.messages.push(parseMessage(frame.message, frame.length));
      }
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }
}

function takeFrame(buffer: Buffer): { message: string; length: number; rest: Buffer } | null {
  const space = buffer.indexOf(0x20);
  if (space === -1) return null;
  const header = buffer.subarray(0, space).toString('ascii');
  if (!/^[1-9]\d{0,8}$/.test(header)) throw new Error(`not an octet-counted frame: ${JSON.stringify(header)}`);
  const length = Number(header);
  if (buffer.length < space + 1 + length) return null;
  return { message: buffer.subarray(space + 1, space + 1 + length).toString('utf8'), length, rest: buffer.subarray(space + 1 + length) };
}

function parseMessage(message: string, length: number): SyslogMessage {
  const match = RFC5424.exec(message);
  if (match === null) throw new Error(`not an RFC 5424 message: ${message.slice(0, 120)}`);
  const pri = Number(match[1]);
  return {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    version: Number(match[2]),
    timestamp: match[3]!,
    hostname: match[4]!,
    appName: match[5]!,
    procId: match[6]!,
    msgId: match[7]!,
    structuredData: match[8]!,
    msg: match[9]!,
    length,
  };
}
