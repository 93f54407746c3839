/**
 * RTP/RTCP port pairs from a configured range: RTP on an even port, RTCP on the
 * next one (RFC 3550 §11), both bound before the pair is handed out.
 *
 * The allocator walks the range round-robin instead of always taking the
 * lowest free pair: a port freed by a call that just ended may still receive
 * its peer's late packets, and handing it straight to the next call would feed
 * those into the wrong leg (they would be dropped by latching, but counted
 * against an innocent call). Ports held by another process are found by trying
 * to bind, and skipped.
 */
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { silentLogger, type Logger } from '../ops/log.js';
import { MediaError } from './errors.js';

export interface PortPair {
  /** The RTP port (even); RTCP is port + 1. */
  readonly port: number;
  readonly rtp: Socket;
  readonly rtcp: Socket;
  /** Closes both sockets and gives the pair back to the allocator; idempotent. */
  close(): void;
}

export interface PortAllocatorOptions {
  readonly address: string;
  readonly portMin: number;
  readonly portMax: number;
  readonly logger?: Logger;
}

export class PortAllocator {
  readonly address: string;
  /** First and last even RTP port of the range; every RTCP port (rtp + 1) is within portMax. */
  private readonly first: number;
  private readonly last: number;
  /** RTP ports of the pairs handed out, and of those being bound right now. */
  private readonly taken = new Set<number>();
  private next: number;
  private readonly log: Logger;
  private allocated = 0;

  constructor(opts: PortAllocatorOptions) {
    const { portMin, portMax } = opts;
    if (!Number.isInteger(portMin) || !Number.isInteger(portMax) || portMin < 1 || portMax > 65535 || portMin > portMax) {
      throw new RangeError(`invalid RTP port range ${portMin}-${portMax}`);
    }
    this.address = opts.address;
    this.first = portMin % 2 === 0 ? portMin : portMin + 1;
    this.last = portMax % 2 === 0 ? portMax - 2 : portMax - 1;
    this.next = this.first;
    this.log = opts.logger ?? silentLogger();
  }

  /** How many pairs the range holds at most. */
  get capacity(): number {
    return this.last >= this.first ? (this.last - this.first) / 2 + 1 : 0;
  }

  /** Pairs currently handed out and not yet closed. */
  get inUse(): number {
    return this.allocated;
  }

  async allocate(): Promise<PortPair> {
    const capacity = this.capacity;
    let busyElsewhere = 0;
    for (let tried = 0; tried < capacity; tried++) {
      const port = this.next;
      this.next = port + 2 > this.last ? this.first : port + 2;
      if (this.taken.has(port)) continue;
      // Reserved before the first await, so concurrent allocations never race for one port.
      this.taken.add(port);
      const pair = await this.bindPair(port);
      if (pair) {
        this.allocated++;
        return pair;
      }
      this.taken.delete(port);
      busyElsewhere++;
    }
    this.log.warn({ portMin: this.first, portMax: this.last + 1, inUse: this.allocated, busyElsewhere }, 'no free RTP port pair');
    throw new MediaError(
      'PORTS_EXHAUSTED',
      `no free RTP port pair in ${this.first}-${this.last + 1} on ${this.address} (${this.allocated} in use, ${busyElsewhere} held by other processes)`,
    );
  }

  private async bindPair(port: number): Promise<PortPair | null> {
    const rtp = await bindSocket(this.address, port);
    if (!rtp) return null;
    const rtcp = await bindSocket(this.address, port + 1);
    if (!rtcp) {
      rtp.close();
      return null;
    }
    let open = true;
    return {
      port,
      rtp,
      rtcp,
      close: () => {
        if (!open) return;
        open = false;
        rtp.close();
        rtcp.close();
        this.taken.delete(port);
        this.allocated--;
      },
    };
  }
}

/** A bound UDP socket, or null when the port cannot be had (held by another process, or not allowed). */
export function bindSocket(address: string, port: number): Promise<Socket | null> {
  const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalLookup });
  return new Promise((resolve) => {
    const onError = (): void => {
      socket.off('listening', onListening);
      try {
        socket.close();
      } catch {
        // Already closed by the failed bind.
      }
      resolve(null);
    };
    const onListening = (): void => {
      socket.off('error', onError);
      // A send error (an unreachable peer) arrives here for sends without a
      // callback; it concerns one packet, never the leg, so it is ignored.
      socket.on('error', ignore);
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

function ignore(): void {}

/**
 * dgram resolves every destination before each send; the default resolver
 * answers even an IP literal on the next tick, which costs a deferred call per
 * packet and keeps the packet's buffer referenced past send(). SDP addresses
 * are nearly always literals: answer those at once, resolve names as usual.
 */
const literalLookup: NonNullable<SocketOptions['lookup']> = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options, callback);
};
