import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as connectTls } from 'node:tls';
import type { AuditRecord } from '../audit/types.js';
import type { SyslogTarget } from '../config/siem-config.js';
import type { DeliveryChannel } from '../notify/channel.js';
import { toOcsf, type OcsfOptions } from './ocsf.js';
import { octetCountedFrame, syslogMessage, type SyslogHeader } from './syslog-message.js';

/**
 * Syslog over TCP or TLS to a SIEM: one persistent connection, opened on the first delivery and
 * again after any failure. TCP syslog has no application acknowledgement: a record counts as
 * delivered once its frame is handed to the kernel and the connection has not failed. A frame
 * written just as the receiver goes away can be lost; a frame whose write failed is not counted,
 * so the outbox sends it again.
 */

export interface SyslogChannelOptions {
  target: SyslogTarget;
  ocsf?: OcsfOptions;
  /** HOSTNAME of every message; this host's name by default. */
  hostname?: string;
  /** Gives up on a connection attempt after this long (the outbox retries later). */
  connectTimeoutMs?: number;
}

export function createSyslogChannel(options: SyslogChannelOptions): DeliveryChannel {
  const header: SyslogHeader = { hostname: options.hostname ?? hostname(), procId: String(process.pid) };
  const connection = new SyslogConnection(options.target, options.connectTimeoutMs ?? 10_000);
  return {
    name: 'syslog',
    wants: () => true,
    deliver: (record: AuditRecord, signal: AbortSignal) => connection.send(octetCountedFrame(syslogMessage(record, toOcsf(record, options.ocsf), header)), signal),
    close: () => connection.close(),
  };
}

class SyslogConnection {
  private socket: Socket | null = null;
  /** Frames go out one at a time, in the order they were given. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly target: SyslogTarget,
    private readonly connectTimeoutMs: number,
  ) {}

  send(frame: Buffer, signal: AbortSignal): Promise<void> {
    const sent = this.queue.then(() => this.write(frame, signal));
    this.queue = sent.catch(() => undefined);
    return sent;
  }

  private async write(frame: Buffer, signal: AbortSignal): Promise<void> {
    if (this.closed) throw new Error('the syslog channel is closed');
    signal.throwIfAborted();
    const socket = this.usable() ?? (await this.open(signal));
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        // A frame cut in the middle would garble every later one: start on a new connection.
        socket.destroy();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.write(frame, (error) => {
        signal.removeEventListener('abort', onAbort);
        if (error) reject(new Error(`the syslog receiver ${this.address()} did not take the event: ${error.message}`));
        else resolve();
      });
    });
  }

  private usable(): Socket | null {
    const socket = this.socket;
    return socket !== null && socket.writable && !socket.destroyed ? socket : null;
  }

  private open(signal: AbortSignal): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const { host, port, protocol, ca } = this.target;
      const connectedEvent = protocol === 'tls' ? 'secureConnect' : 'connect';
      const socket = protocol === 'tls' ? connectTls({ host, port, servername: isIP(host) === 0 ? host : undefined, ...(ca === null ? {} : { ca }) }) : connectTcp({ host, port });
      const fail = (error: Error) => {
        cleanUp();
        socket.destroy();
        reject(new Error(`cannot connect to the syslog receiver ${this.address()}: ${error.message}`));
      };
      const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      const onTimeout = () => fail(new Error(`no connection within ${this.connectTimeoutMs} ms`));
      const cleanUp = () => {
        socket.off('error', fail).off('timeout', onTimeout);
        signal.removeEventListener('abort', onAbort);
        socket.setTimeout(0);
      };
      socket.once('error', fail).once('timeout', onTimeout).setTimeout(this.connectTimeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once(connectedEvent, () => {
        cleanUp();
        resolve(this.adopt(socket));
      });
    });
  }

  /** Keeps the connection, and forgets it as soon as it fails or the receiver closes it. */
  private adopt(socket: Socket): Socket {
    this.socket = socket;
    const forget = () => {
      if (this.socket === socket) this.socket = null;
      socket.destroy();
    };
    socket.setKeepAlive(true, 30_000);
    // A receiver sends nothing; reading is what lets its close ('end') be noticed.
    socket.on('data', () => undefined);
    socket.on('error', forget).on('end', forget).on('close', forget);
    return socket;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const socket = this.socket;
    this.socket = null;
    if (socket === null || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  private address(): string {
    return `${this.target.protocol}://${this.target.host}:${this.target.port}`;
  }
}
