/**
 * Server transactions (RFC 3261 §17.2, with the Accepted state of RFC 6026 for
 * 2xx to INVITE): they keep the last response, resend it on a retransmitted
 * request and, over UDP, retransmit final responses until acknowledged.
 */
import type net from 'node:net';
import type { IncomingRequest } from './request.js';
import type { ParsedMessage } from './message.js';
import type { Peer } from './transport.js';
import type { ServerResponse } from './response.js';
import { TimerSet, transactionTimeout, type TimerValues } from './timers.js';

/** Where responses go: the request's source, on the connection it came in on. */
export interface ReplyPath {
  readonly source: Peer;
  readonly flow: net.Socket | undefined;
  /** Over TCP, when the connection is gone: the port of the top Via's sent-by (RFC 3261 §18.2.2). */
  readonly replyPort?: number | undefined;
}

export interface ServerTxHost {
  readonly timers: TimerValues;
  sendResponse(text: string, to: ReplyPath): void;
  serverTxEnded(tx: ServerTransaction): void;
  /** A 2xx to INVITE went out: its ACK will carry a new branch, so it is matched by dialog and CSeq. */
  awaitAck(tx: InviteServerTransaction): void;
}

/** RFC 3261 §17.2.3: branch + sent-by + method, with ACK matching its INVITE. */
export function serverTxKey(msg: ParsedMessage, method = msg.cseq.method): string {
  return `${msg.via.branch}|${msg.via.sentBy}|${method === 'ACK' ? 'INVITE' : method}`;
}

export abstract class ServerTransaction {
  readonly key: string;
  protected last: string | undefined;
  protected readonly timers = new TimerSet();
  finalStatus = 0;
  ended = false;
  /** The response object handed out for this transaction (a CANCEL answers the INVITE through it). */
  response: ServerResponse | undefined;
  /** INVITE only: key in the host's ACK table while our 2xx awaits its ACK. */
  ackKey: string | undefined;

  constructor(
    protected readonly host: ServerTxHost,
    readonly req: IncomingRequest,
  ) {
    this.key = serverTxKey(req.msg);
  }

  protected get reliable(): boolean {
    return this.req.source.transport === 'tcp';
  }

  abstract respond(status: number, text: string): void;

  /** The same request again: answer with what we last said. */
  retransmission(): void {
    if (this.last !== undefined) this.host.sendResponse(this.last, this.req);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.timers.clearAll();
    this.host.serverTxEnded(this);
  }

  /** Resends `text` at T1, 2*T1, ... capped at T2 (Timer G, and the UAS 2xx rule of §13.3.1.4). */
  protected retransmit(text: string): void {
    if (this.reliable) return;
    const t = this.host.timers;
    const again = (interval: number): void => {
      this.timers.set('G', interval, () => {
        this.host.sendResponse(text, this.req);
        again(Math.min(interval * 2, t.t2));
      });
    };
    again(t.t1);
  }
}

export class InviteServerTransaction extends ServerTransaction {
  state: 'proceeding' | 'completed' | 'confirmed' | 'accepted' = 'proceeding';
  /** Our To-tag, set by the response: with Call-ID and CSeq it matches the ACK for a 2xx. */
  toTag = '';

  /** Set by whoever owns the 2xx: the ACK that completes it, or none within 64*T1. */
  onAck: ((ack: IncomingRequest) => void) | undefined;
  onAckTimeout: (() => void) | undefined;

  respond(status: number, text: string): void {
    if (this.ended || this.finalStatus !== 0) return;
    this.last = text;
    this.host.sendResponse(text, this.req);
    if (status < 200) return;
    this.finalStatus = status;
    const t = this.host.timers;
    this.retransmit(text);
    if (status < 300) {
      this.state = 'accepted';
      this.host.awaitAck(this);
      this.timers.set('L', transactionTimeout(t), () => {
        const cb = this.onAckTimeout;
        this.end();
        cb?.();
      });
    } else {
      this.state = 'completed';
      this.timers.set('H', transactionTimeout(t), () => this.end());
    }
  }

  /** ACK with this transaction's branch: the ACK for a non-2xx final. */
  ackForFailure(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.timers.clearAll();
    this.timers.set('I', this.reliable ? 0 : this.host.timers.t4, () => this.end());
  }

  /** ACK matched by dialog and CSeq: the ACK for our 2xx. */
  ackForSuccess(ack: IncomingRequest): void {
    if (this.state !== 'accepted') return;
    const cb = this.onAck;
    this.end();
    cb?.(ack);
  }

  override retransmission(): void {
    if (this.state !== 'confirmed') super.retransmission();
  }
}

export class NonInviteServerTransaction extends ServerTransaction {
  respond(status: number, text: string): void {
    if (this.ended || this.finalStatus !== 0) return;
    this.last = text;
    this.host.sendResponse(text, this.req);
    if (status < 200) return;
    this.finalStatus = status;
    // Timer J: absorb retransmissions of the request for 64*T1 over UDP.
    this.timers.set('J', this.reliable ? 0 : transactionTimeout(this.host.timers), () => this.end());
  }
}
