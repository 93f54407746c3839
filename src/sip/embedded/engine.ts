/**
 * The embedded SIP engine: RFC 3261 over UDP and TCP in TypeScript, parsing
 * with drachtio-srf's message model. Same contract as the drachtio engine.
 */
import { TypedEmitter } from '../../ops/emitter.js';
import { silentLogger, type Logger } from '../../ops/log.js';
import type {
  Dialog,
  EngineStats,
  SipEngine,
  SipEngineEvents,
  SipRequest,
  SipResponse,
  Transport,
  UacOptions,
  UasOptions,
} from '../engine.js';
import { SipError } from '../errors.js';
import { handleBadInput, handleFrame } from './dispatch.js';
import { SipStack } from './stack.js';
import { DEFAULT_TIMERS, type TimerValues } from './timers.js';
import { SipTransport } from './transport.js';
import { placeCall } from './uac.js';
import { answerInvite } from './uas.js';

export interface EmbeddedEngineOptions {
  readonly listen: string;
  /** 0 picks a free port; UDP and TCP share the same number. */
  readonly port: number;
  readonly transports: readonly Transport[];
  /** Written in Via sent-by, Contact and the default From host. */
  readonly publicAddress: string;
  /** RFC 3261 T1/T2/T4 in ms (default 500/4000/5000); tests shorten them. */
  readonly timers?: TimerValues;
  readonly logger?: Logger;
  /** Server and User-Agent header value (default 'recgw'). */
  readonly userAgent?: string;
  /** Larger messages are malformed (default 64 KiB). */
  readonly maxMessageBytes?: number;
}

export class EmbeddedSipEngine extends TypedEmitter<SipEngineEvents> implements SipEngine {
  private readonly stack: SipStack;
  private readonly log: Logger;
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: EmbeddedEngineOptions) {
    super();
    if (opts.transports.length === 0) throw new SipError(500, 'no SIP transport configured');
    this.log = opts.logger ?? silentLogger();
    const transport = new SipTransport(
      {
        listen: opts.listen,
        port: opts.port,
        transports: opts.transports,
        maxMessageBytes: opts.maxMessageBytes ?? 64 * 1024,
        log: this.log,
      },
      {
        frame: (frame, source) => handleFrame(this.stack, frame, source, (req, res) => this.safeEmit('invite', req, res)),
        badInput: (reason, source) => handleBadInput(this.stack, reason, source),
      },
    );
    this.stack = new SipStack(transport, opts.timers ?? DEFAULT_TIMERS, opts.publicAddress, opts.userAgent ?? 'recgw', this.log);
  }

  get local(): { readonly address: string; readonly port: number; readonly transports: readonly Transport[] } {
    return { address: this.opts.listen, port: this.stack.port, transports: this.opts.transports };
  }

  get stats(): Readonly<EngineStats> {
    return this.stack.stats;
  }

  setOutOfService(retryAfterSec: number | undefined): void {
    this.stack.outOfService = retryAfterSec;
  }

  async listen(): Promise<void> {
    if (this.state !== 'new') throw new SipError(500, `engine cannot listen when ${this.state}`);
    await this.stack.transport.open();
    this.state = 'listening';
    this.log.info({ address: this.opts.listen, port: this.stack.port, transports: this.opts.transports }, 'sip engine listening');
  }

  createUAS(req: SipRequest, res: SipResponse, opts: UasOptions): Promise<Dialog> {
    if (this.stack.closed) return Promise.reject(new SipError(503, 'Engine Closed'));
    return answerInvite(this.stack, req, res, opts);
  }

  createUAC(uri: string, opts: UacOptions): Promise<Dialog> {
    if (this.stack.closed) return Promise.reject(new SipError(503, 'Engine Closed'));
    return placeCall(this.stack, uri, opts);
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.log.warn({ err, event }, 'sip engine listener threw');
  }

  /** Ends dialogs without BYE, stops every transaction timer, closes the sockets. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    const { stack } = this;
    stack.closed = true;
    for (const reject of [...stack.pending]) reject(new SipError(503, 'Engine Closed'));
    stack.pending.clear();
    for (const d of [...stack.dialogs.values()]) d.close();
    for (const tx of [...stack.serverTx.values()]) tx.end();
    for (const tx of [...stack.clientTx.values()]) tx.end();
    stack.ackWait.clear();
    await stack.transport.close();
    this.state = 'closed';
    this.log.debug('sip engine closed');
  }
}
