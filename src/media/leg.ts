/**
 * One side of a call's media: a port pair the peer sends to, symmetric-RTP
 * latching that decides which packets are the peer's, and the relay to the
 * other leg of the call.
 *
 * Latching is the gateway's defence against RTP injection: only packets whose
 * source IP is the one the peer's SDP named are accepted, and the first of
 * them fixes the exact ip:port (which may differ from the SDP port behind a
 * NAT); from then on every other source is dropped. A new SDP (re-INVITE)
 * clears the latch. What is dropped is counted, never relayed, never tapped.
 *
 * The receive path runs once per packet for every call, so it allocates
 * nothing it can avoid: one RtpView per leg, handlers bound once, the received
 * Buffer relayed as is (payload bytes untouched), no logging.
 */
import type { RemoteInfo } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { silentLogger, type Logger } from '../ops/log.js';
import type { PortAllocator, PortPair } from './ports.js';
import { newRtpView, parseRtp, type RtpView } from './rtp.js';

export interface RemoteEndpoint {
  address: string;
  port: number;
  /** From a=rtcp; port + 1 when absent. */
  rtcpPort?: number;
}

/**
 * `received`, `accepted` and `relayed` count RTP; `droppedSource` and
 * `malformed` count both sockets, RTP and RTCP. `relayed` counts packets this
 * leg accepted and the other leg sent on; `sent` counts packets out of this
 * leg's RTP socket (relayed from the other leg, or played into it).
 */
export interface LegCounters {
  received: number;
  accepted: number;
  droppedSource: number;
  malformed: number;
  relayed: number;
  sent: number;
  rtcpReceived: number;
  rtcpRelayed: number;
}

/**
 * Sees each accepted, well-formed RTP packet before it is relayed. `view` is
 * the leg's own, overwritten by the next packet: copy what must outlive the
 * call. `packet` is the buffer being relayed, a fresh one per datagram that
 * nothing changes, so a tap may keep it a while (capture does, until its next
 * flush). Change neither.
 */
export type RtpTap = (packet: Buffer, view: RtpView, arrivalMs: number) => void;

export interface MediaLegOptions {
  readonly name: 'caller' | 'agent';
  /** The address this leg announces in SDP. */
  readonly address: string;
  readonly logger?: Logger;
}

const RTCP_MIN_LENGTH = 8;

export class MediaLeg {
  static async open(allocator: PortAllocator, opts: MediaLegOptions): Promise<MediaLeg> {
    return new MediaLeg(await allocator.allocate(), opts);
  }

  readonly name: 'caller' | 'agent';
  readonly localPort: number;
  readonly localAddress: string;
  tap: RtpTap | null = null;
  readonly counters: LegCounters = {
    received: 0,
    accepted: 0,
    droppedSource: 0,
    malformed: 0,
    relayed: 0,
    sent: 0,
    rtcpReceived: 0,
    rtcpRelayed: 0,
  };

  private readonly pair: PortPair;
  private readonly view: RtpView = newRtpView();
  private readonly log: Logger;
  /** The IP the peer's SDP named; null when unset or on hold. */
  private remoteAddress: string | null = null;
  private remotePort = 0;
  private remoteRtcpPort = 0;
  /** 0 until the first accepted packet fixes the peer's source port. */
  private latchedRtpPort = 0;
  private latchedRtcpPort = 0;
  /** The previous peer's port at the same address: never latched to until someone else was. */
  private staleRtpPort = 0;
  private latched: { readonly address: string; readonly port: number } | null = null;
  private peer: MediaLeg | null = null;
  private closed = false;
  private tapErrors = 0;

  private constructor(pair: PortPair, opts: MediaLegOptions) {
    this.pair = pair;
    this.name = opts.name;
    this.localPort = pair.port;
    this.localAddress = opts.address;
    this.log = opts.logger ?? silentLogger();
    pair.rtp.on('message', this.onRtp);
    pair.rtcp.on('message', this.onRtcp);
  }

  /** Where RTP from this leg's peer is accepted from once latched, and where this leg sends to. */
  get latchedTo(): { address: string; port: number } | null {
    return this.latched;
  }

  /** True while bridged to another leg. */
  get bridged(): boolean {
    return this.peer !== null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The peer's SDP endpoint. null, port 0 or address 0.0.0.0 = hold: send nothing. Resets the latch (re-latch on re-INVITE). */
  setRemote(remote: RemoteEndpoint | null): void {
    // A new peer at the same address (a PBX media server, after a transfer) must
    // not latch to the old peer's last packets: that source waits its turn.
    const old = this.latched;
    this.staleRtpPort = old !== null && remote !== null && old.address === remote.address && old.port !== remote.port ? old.port : 0;
    this.latchedRtpPort = 0;
    this.latchedRtcpPort = 0;
    this.latched = null;
    // A port no socket can send to is treated as hold rather than thrown on:
    // it comes from the network, and send() must never throw on the relay path.
    if (remote === null || !isPort(remote.port) || isUnspecified(remote.address)) {
      this.remoteAddress = null;
      this.remotePort = 0;
      this.remoteRtcpPort = 0;
      return;
    }
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    const rtcpPort = remote.rtcpPort ?? remote.port + 1;
    this.remoteRtcpPort = isPort(rtcpPort) ? rtcpPort : 0;
  }

  /** Send out of this leg's RTP socket to the latched source, else to the SDP remote. No-op on hold or after close. */
  send(packet: Buffer): void {
    this.sendRtp(packet);
  }

  /** Idempotent: unbridges, stops the tap and releases the port pair. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.peer !== null) MediaLeg.link(this, this.peer, false);
    this.tap = null;
    this.pair.rtp.off('message', this.onRtp);
    this.pair.rtcp.off('message', this.onRtcp);
    this.pair.close();
    if (this.tapErrors > 1) this.log.warn({ leg: this.name, tapErrors: this.tapErrors }, 'RTP tap threw repeatedly');
  }

  /** @internal bridge() and unbridge() are the public face of this. */
  static link(a: MediaLeg, b: MediaLeg, on: boolean): void {
    if (on) {
      if (a === b) throw new Error('cannot bridge a media leg to itself');
      if (a.closed || b.closed) return;
      if (a.peer !== null && a.peer !== b) MediaLeg.link(a, a.peer, false);
      if (b.peer !== null && b.peer !== a) MediaLeg.link(b, b.peer, false);
      a.peer = b;
      b.peer = a;
    } else if (a.peer === b) {
      a.peer = null;
      b.peer = null;
    }
  }

  private sendRtp(packet: Buffer): boolean {
    if (this.closed || this.remoteAddress === null) return false;
    const port = this.latchedRtpPort !== 0 ? this.latchedRtpPort : this.remotePort;
    this.pair.rtp.send(packet, port, this.remoteAddress);
    this.counters.sent++;
    return true;
  }

  private sendRtcp(packet: Buffer): boolean {
    if (this.closed || this.remoteAddress === null) return false;
    const port = this.latchedRtcpPort !== 0 ? this.latchedRtcpPort : this.remoteRtcpPort;
    if (port === 0) return false;
    this.pair.rtcp.send(packet, port, this.remoteAddress);
    return true;
  }

  private readonly onRtp = (packet: Buffer, from: RemoteInfo): void => {
    const c = this.counters;
    c.received++;
    if (from.address !== this.remoteAddress || (this.latchedRtpPort !== 0 && from.port !== this.latchedRtpPort)) {
      c.droppedSource++;
      return;
    }
    // Checked before latching, so garbage from the right host cannot pick the port.
    if (!parseRtp(packet, this.view)) {
      c.malformed++;
      return;
    }
    if (this.latchedRtpPort === 0) {
      if (from.port === this.staleRtpPort) {
        c.droppedSource++;
        return;
      }
      this.staleRtpPort = 0;
      this.latchedRtpPort = from.port;
      this.latched = { address: from.address, port: from.port };
    }
    c.accepted++;
    const tap = this.tap;
    if (tap !== null) {
      try {
        tap(packet, this.view, performance.now());
      } catch (err) {
        // A consumer's bug must not stop the audio: said once, then counted.
        if (this.tapErrors++ === 0) this.log.warn({ err, leg: this.name }, 'RTP tap threw; the relay goes on');
      }
    }
    if (this.peer !== null && this.peer.sendRtp(packet)) c.relayed++;
  };

  private readonly onRtcp = (packet: Buffer, from: RemoteInfo): void => {
    const c = this.counters;
    c.rtcpReceived++;
    if (from.address !== this.remoteAddress || (this.latchedRtcpPort !== 0 && from.port !== this.latchedRtcpPort)) {
      c.droppedSource++;
      return;
    }
    if (packet.length < RTCP_MIN_LENGTH || (packet[0] as number) >>> 6 !== 2) {
      c.malformed++;
      return;
    }
    if (this.latchedRtcpPort === 0) this.latchedRtcpPort = from.port;
    if (this.peer !== null && this.peer.sendRtcp(packet)) c.rtcpRelayed++;
  };
}

/** Packets accepted on a are sent out of b to b's peer, and vice versa (RTP and RTCP). A leg bridged elsewhere is unbridged first. */
export function bridge(a: MediaLeg, b: MediaLeg): void {
  MediaLeg.link(a, b, true);
}

/** Undoes bridge(a, b); nothing happens when they are not bridged to each other. */
export function unbridge(a: MediaLeg, b: MediaLeg): void {
  MediaLeg.link(a, b, false);
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}
