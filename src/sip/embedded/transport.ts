/**
 * UDP socket and TCP server on one port, plus the TCP connection pool. The
 * transport knows nothing of transactions: it hands frames up with their
 * source and sends text to a peer, reusing a connection whenever one exists.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../ops/log.js';
import type { Transport } from '../engine.js';
import { frameDatagram, StreamFramer, type Frame } from './framing.js';

export interface Peer {
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
}

/** Where a message came from; `flow` is the TCP connection it arrived on. */
export interface Source extends Peer {
  readonly flow?: net.Socket;
}

export interface TransportHooks {
  frame(frame: Frame, source: Source): void;
  /** A stream that could not be framed (the connection is already closed) or an oversized datagram. */
  badInput(reason: string, source: Source): void;
}

export interface TransportOptions {
  readonly listen: string;
  readonly port: number;
  readonly transports: readonly Transport[];
  readonly maxMessageBytes: number;
  readonly log: Logger;
}

const peerKey = (address: string, port: number): string => `${address}:${port}`;

export class SipTransport {
  private udp: dgram.Socket | undefined;
  private server: net.Server | undefined;
  /** Open TCP connections by remote address:port, inbound and outbound alike. */
  private readonly pool = new Map<string, net.Socket>();
  /** Every live connection, pooled or not, so close() leaves none behind. */
  private readonly sockets = new Set<net.Socket>();
  /** Failure callbacks of writes queued on connections still connecting. */
  private readonly dialling = new WeakMap<net.Socket, Array<(err: Error) => void>>();
  private boundPort = 0;
  sendErrors = 0;

  constructor(
    private readonly opts: TransportOptions,
    private readonly hooks: TransportHooks,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.pool.size;
  }

  async open(): Promise<void> {
    // With port 0 the UDP port is picked first and TCP must get the same number; retry if it is taken.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.bind(this.opts.port);
        return;
      } catch (err) {
        await this.shut();
        if (this.opts.port !== 0 || attempt >= 5) throw err;
      }
    }
  }

  private async bind(port: number): Promise<void> {
    let actual = port;
    if (this.opts.transports.includes('udp')) {
      const udp = dgram.createSocket('udp4');
      this.udp = udp;
      udp.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
      udp.on('error', (err) => this.opts.log.warn({ err }, 'udp socket error'));
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(actual, this.opts.listen, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      actual = udp.address().port;
    }
    if (this.opts.transports.includes('tcp')) {
      const server = net.createServer((socket) => this.adopt(socket));
      this.server = server;
      server.on('error', (err) => this.opts.log.warn({ err }, 'tcp server error'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(actual, this.opts.listen, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      if (addr !== null && typeof addr === 'object') actual = addr.port;
    }
    this.boundPort = actual;
  }

  private onDatagram(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const source: Source = { address: rinfo.address, port: rinfo.port, transport: 'udp' };
    if (data.length > this.opts.maxMessageBytes) {
      this.hooks.badInput('Message too large', source);
      return;
    }
    const frame = frameDatagram(data);
    if (frame) this.hooks.frame(frame, source);
  }

  /** Wires a connected socket (accepted or dialled) into framing and the pool. */
  private adopt(socket: net.Socket, key?: string): void {
    const framer = new StreamFramer(this.opts.maxMessageBytes);
    this.sockets.add(socket);
    let poolKey = key;
    const register = (): void => {
      if (socket.remoteAddress === undefined || socket.remotePort === undefined) return;
      poolKey ??= peerKey(socket.remoteAddress, socket.remotePort);
      if (!this.pool.has(poolKey)) this.pool.set(poolKey, socket);
    };
    if (socket.connecting) socket.once('connect', register);
    else register();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const source: Source = {
        address: socket.remoteAddress ?? '',
        port: socket.remotePort ?? 0,
        transport: 'tcp',
        flow: socket,
      };
      const { frames, error } = framer.push(chunk);
      for (const f of frames) this.hooks.frame(f, source);
      if (error !== undefined) {
        socket.destroy();
        this.hooks.badInput(error, source);
      }
    });
    socket.on('error', () => {
      // 'close' follows; a reset peer is not an engine error.
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (poolKey !== undefined && this.pool.get(poolKey) === socket) this.pool.delete(poolKey);
    });
  }

  /**
   * Sends one message. Over TCP it prefers `flow` (the connection a request came
   * in on), then any open connection to the peer, then dials. `onError` reports
   * a transport failure (RFC 3261 §8.1.3.1 turns it into a 503).
   */
  send(text: string, peer: Peer, flow?: net.Socket, onError?: (err: Error) => void): void {
    const data = Buffer.from(text, 'utf8');
    if (peer.transport === 'udp') {
      if (!this.udp) {
        onError?.(new Error('udp transport not enabled'));
        return;
      }
      this.udp.send(data, peer.port, peer.address, (err) => {
        if (err) {
          this.sendErrors++;
          onError?.(err);
        }
      });
      return;
    }
    let socket = flow !== undefined && !flow.destroyed ? flow : this.pool.get(peerKey(peer.address, peer.port));
    if (socket === undefined || socket.destroyed) {
      if (!this.opts.transports.includes('tcp')) {
        onError?.(new Error('tcp transport not enabled'));
        return;
      }
      socket = this.dial(peer);
    }
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      this.sendErrors++;
      onError?.(err);
    };
    this.dialling.get(socket)?.push(fail);
    socket.write(data, (err) => {
      if (err) fail(err);
    });
  }

  /** Opens a connection; everyone who writes before it connects hears about a failed connect. */
  private dial(peer: Peer): net.Socket {
    const key = peerKey(peer.address, peer.port);
    const socket = net.connect({ host: peer.address, port: peer.port });
    const waiters: Array<(err: Error) => void> = [];
    this.dialling.set(socket, waiters);
    socket.once('connect', () => this.dialling.delete(socket));
    socket.once('error', (err) => {
      this.dialling.delete(socket);
      for (const w of waiters) w(err);
    });
    this.pool.set(key, socket);
    this.adopt(socket, key);
    return socket;
  }

  async close(): Promise<void> {
    await this.shut();
  }

  private async shut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.pool.clear();
    const udp = this.udp;
    const server = this.server;
    this.udp = undefined;
    this.server = undefined;
    await Promise.all([
      udp ? new Promise<void>((resolve) => udp.close(() => resolve())) : Promise.resolve(),
      server
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve(),
    ]);
  }
}
