/** The SipRequest the application receives: a parsed request plus where it came from. */
import type net from 'node:net';
import { TypedEmitter } from '../../ops/emitter.js';
import type { SipRequest, Transport } from '../engine.js';
import type { ParsedMessage } from './message.js';
import type { Source } from './transport.js';

type RequestEvents = { cancel: () => void };

export class IncomingRequest extends TypedEmitter<RequestEvents> implements SipRequest {
  readonly type = 'request' as const;
  readonly method: string;
  readonly uri: string;
  readonly source: { readonly address: string; readonly port: number; readonly transport: Transport };
  /** The TCP connection the request arrived on: responses and in-dialog requests reuse it. */
  readonly flow: net.Socket | undefined;
  /** Port of the top Via's sent-by: where a TCP response goes once the connection is gone. */
  readonly replyPort: number;
  private cancelled = false;

  constructor(
    readonly msg: ParsedMessage,
    source: Source,
  ) {
    super();
    this.method = msg.method ?? '';
    this.uri = msg.uri ?? '';
    this.source = { address: source.address, port: source.port, transport: source.transport };
    this.flow = source.flow;
    this.replyPort = Number(/:(\d+)$/.exec(msg.via.sentBy)?.[1] ?? 5060);
  }

  get body(): string {
    return this.msg.body;
  }
  get callId(): string {
    return this.msg.callId;
  }
  get calledNumber(): string {
    return this.msg.calledNumber;
  }
  get callingNumber(): string {
    return this.msg.callingNumber;
  }
  get canceled(): boolean {
    return this.cancelled;
  }
  get(name: string): string | undefined {
    return this.msg.get(name);
  }
  has(name: string): boolean {
    return this.msg.has(name);
  }
  override toString(): string {
    return this.msg.toString();
  }

  /** Called by the engine once the CANCEL has been answered and 487 sent. */
  markCanceled(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.safeEmit('cancel');
  }
}
