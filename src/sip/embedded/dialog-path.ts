/**
 * How a dialog reaches its peer (RFC 3261 §12.2.1.1): route set, remote target,
 * local CSeq, and the connection to prefer. Builds every in-dialog request.
 */
import type net from 'node:net';
import type { Transport } from '../engine.js';
import { formatRequest, newBranch, type HeaderList } from './build.js';
import { uriOf, type ParsedMessage } from './message.js';
import type { OutgoingRequest, SipStack } from './stack.js';
import { targetOf } from './target.js';
import type { Peer } from './transport.js';

export interface SentAck {
  readonly seq: number;
  readonly text: string;
  readonly target: Peer;
}

const CONTACT_METHODS = new Set(['INVITE', 'UPDATE', 'REFER', 'NOTIFY']);

export class DialogPath {
  constructor(
    private readonly stack: SipStack,
    readonly callId: string,
    /** Our From (UAC) or To (UAS) value, tag included; the peer's likewise. */
    readonly localNameAddr: string,
    readonly remoteNameAddr: string,
    /** The peer's Contact URI; a re-INVITE or its answer may move it. */
    public remoteTarget: string,
    readonly routeSet: readonly string[],
    readonly transport: Transport,
    private readonly flow: net.Socket | undefined,
    public localSeq: number,
  ) {}

  /** The next hop: the first Route if any (loose routing), else the remote target. */
  nextHop(): Peer | undefined {
    const first = this.routeSet[0];
    return targetOf(first !== undefined ? uriOf(first) : this.remoteTarget, this.transport);
  }

  /** Over TCP, in-dialog requests reuse the connection the dialog was made on while it is open. */
  flowFor(hop: Peer): net.Socket | undefined {
    const f = this.flow;
    return hop.transport === 'tcp' && f !== undefined && !f.destroyed && f.remoteAddress === hop.address ? f : undefined;
  }

  headers(method: string, seq: number, extra?: Readonly<Record<string, string>>): HeaderList {
    const h: HeaderList = [
      ['Max-Forwards', '70'],
      ['From', this.localNameAddr],
      ['To', this.remoteNameAddr],
      ['Call-ID', this.callId],
      ['CSeq', `${seq} ${method}`],
      ...this.routeSet.map((r): [string, string] => ['Route', r]),
    ];
    if (CONTACT_METHODS.has(method)) h.push(['Contact', this.stack.contact(this.transport)]);
    h.push(['User-Agent', this.stack.userAgent]);
    if (extra) for (const [n, v] of Object.entries(extra)) h.push([n, v]);
    return h;
  }

  /** A new in-dialog request with the next CSeq; undefined when the target is no SIP URI. */
  outgoing(method: string, extra?: Readonly<Record<string, string>>, body?: string): OutgoingRequest | undefined {
    const hop = this.nextHop();
    if (!hop) return undefined;
    const seq = ++this.localSeq;
    return { method, uri: this.remoteTarget, headers: this.headers(method, seq, extra), body: body ?? '', target: hop, flow: this.flowFor(hop) };
  }

  /** ACK for a non-2xx to our re-INVITE: same branch and Request-URI (RFC 3261 §17.1.1.3). */
  failureAck(out: OutgoingRequest, branch: string, seq: number, res: ParsedMessage): string {
    const h: HeaderList = [
      ['Via', this.stack.via(out.target.transport, branch)],
      ['Max-Forwards', '70'],
      ['From', this.localNameAddr],
      ['To', res.to],
      ['Call-ID', this.callId],
      ['CSeq', `${seq} ACK`],
      ...this.routeSet.map((r): [string, string] => ['Route', r]),
    ];
    return formatRequest('ACK', out.uri, h);
  }

  /** ACK for a 2xx: a transaction of its own with a new branch (RFC 3261 §13.2.2.4). */
  successAck(seq: number): SentAck | undefined {
    const hop = this.nextHop();
    if (!hop) return undefined;
    const h: HeaderList = [['Via', this.stack.via(hop.transport, newBranch())], ...this.headers('ACK', seq)];
    return { seq, text: formatRequest('ACK', this.remoteTarget, h), target: hop };
  }
}
