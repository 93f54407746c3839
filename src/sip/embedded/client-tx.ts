/**
 * Client transactions (RFC 3261 §17.1). Over UDP they retransmit the request
 * (Timers A and E); over TCP the transport is trusted and only the timeouts run.
 */
import type net from 'node:net';
import type { ParsedMessage } from './message.js';
import type { Peer } from './transport.js';
import { TimerSet, transactionTimeout, type TimerValues } from './timers.js';

export interface ClientTxHost {
  readonly timers: TimerValues;
  sendRequest(text: string, target: Peer, flow: net.Socket | undefined, onError: (err: Error) => void): void;
  clientTxEnded(tx: ClientTransaction): void;
}

/** The transaction user: the UAC core or a dialog. */
export interface ClientTxUser {
  /** Provisional responses and the first final response. */
  response(res: ParsedMessage): void;
  timeout(): void;
  transportError(err: Error): void;
}

export function clientTxKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

export interface ClientRequest {
  readonly method: string;
  readonly branch: string;
  readonly text: string;
  readonly target: Peer;
  readonly flow?: net.Socket | undefined;
}

export abstract class ClientTransaction {
  readonly key: string;
  protected readonly timers = new TimerSet();
  ended = false;

  constructor(
    protected readonly host: ClientTxHost,
    readonly request: ClientRequest,
    protected readonly user: ClientTxUser,
  ) {
    this.key = clientTxKey(request.branch, request.method);
  }

  protected get reliable(): boolean {
    return this.request.target.transport === 'tcp';
  }

  protected transmit(text = this.request.text): void {
    this.host.sendRequest(text, this.request.target, this.request.flow, (err) => {
      if (this.ended) return;
      this.end();
      this.user.transportError(err);
    });
  }

  abstract start(): void;
  abstract receive(res: ParsedMessage): void;

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.timers.clearAll();
    this.host.clientTxEnded(this);
  }
}

export class InviteClientTransaction extends ClientTransaction {
  state: 'calling' | 'proceeding' | 'completed' = 'calling';
  private ack: string | undefined;

  constructor(
    host: ClientTxHost,
    request: ClientRequest,
    user: ClientTxUser,
    /** Builds the ACK for a non-2xx final (RFC 3261 §17.1.1.3): same branch, the response's To. */
    private readonly ackFor: (res: ParsedMessage) => string,
  ) {
    super(host, request, user);
  }

  start(): void {
    const t = this.host.timers;
    this.transmit();
    if (!this.reliable) {
      // Timer A doubles without a cap; Timer B bounds it.
      const again = (interval: number): void => {
        this.timers.set('A', interval, () => {
          this.transmit();
          again(interval * 2);
        });
      };
      again(t.t1);
    }
    // Timer B. RFC 3261 stops it on any provisional; we keep it running through
    // 100 Trying, so a callee that only says Trying still ends in 408 (a ringing
    // callee is bounded by the caller's own ring timeout and CANCEL).
    this.timers.set('B', transactionTimeout(t), () => {
      this.end();
      this.user.timeout();
    });
  }

  receive(res: ParsedMessage): void {
    const status = res.status ?? 0;
    if (this.state === 'completed') {
      if (status >= 300 && this.ack !== undefined) this.transmit(this.ack);
      return;
    }
    if (status < 200) {
      this.state = 'proceeding';
      this.timers.clear('A');
      if (status > 100) this.timers.clear('B');
      this.user.response(res);
      return;
    }
    if (status < 300) {
      // 2xx retransmissions are the dialog's to acknowledge (§13.2.2.4).
      this.end();
      this.user.response(res);
      return;
    }
    this.state = 'completed';
    this.timers.clearAll();
    this.ack = this.ackFor(res);
    this.transmit(this.ack);
    this.timers.set('D', this.reliable ? 0 : transactionTimeout(this.host.timers), () => this.end());
    this.user.response(res);
  }
}

export class NonInviteClientTransaction extends ClientTransaction {
  private state: 'trying' | 'proceeding' | 'completed' = 'trying';

  start(): void {
    const t = this.host.timers;
    this.transmit();
    if (!this.reliable) {
      const again = (interval: number): void => {
        this.timers.set('E', interval, () => {
          this.transmit();
          again(this.state === 'proceeding' ? t.t2 : Math.min(interval * 2, t.t2));
        });
      };
      again(t.t1);
    }
    this.timers.set('F', transactionTimeout(t), () => {
      this.end();
      this.user.timeout();
    });
  }

  receive(res: ParsedMessage): void {
    if (this.state === 'completed') return;
    const status = res.status ?? 0;
    if (status < 200) {
      this.state = 'proceeding';
      this.user.response(res);
      return;
    }
    this.state = 'completed';
    this.timers.clearAll();
    // Timer K: swallow retransmitted finals for T4 over UDP.
    this.timers.set('K', this.reliable ? 0 : this.host.timers.t4, () => this.end());
    this.user.response(res);
  }
}
