/**
 * A confirmed dialog (RFC 3261 §12): route set, remote target, CSeq numbering,
 * in-dialog requests both ways, and the offer/answer state the call layer reads.
 */
import type net from 'node:net';
import { TypedEmitter } from '../../ops/emitter.js';
import type { Dialog, DialogEndReason, DialogEvents, DialogParty, SipMessageView, SipResponse, Transport } from '../engine.js';
import { SipError } from '../errors.js';
import { ALLOW, newBranch } from './build.js';
import { DialogPath, type SentAck } from './dialog-path.js';
import { uriOf, type ParsedMessage } from './message.js';
import type { IncomingRequest } from './request.js';
import type { ServerResponse } from './response.js';
import type { InviteServerTransaction, ServerTransaction } from './server-tx.js';
import type { SipStack } from './stack.js';

class Party implements DialogParty {
  constructor(
    public uri: string,
    public tag: string,
    public contact: string,
    public sdp: string,
  ) {}
}

export interface DialogInit {
  readonly type: 'uas' | 'uac';
  readonly callId: string;
  /** Our From (UAC) or To (UAS) header value, tag included. */
  readonly localNameAddr: string;
  readonly localTag: string;
  readonly remoteNameAddr: string;
  readonly remoteTag: string;
  readonly remoteTarget: string;
  readonly routeSet: readonly string[];
  readonly localSeq: number;
  readonly remoteSeq: number | undefined;
  readonly transport: Transport;
  readonly flow: net.Socket | undefined;
  readonly localSdp: string;
  readonly remoteSdp: string;
  readonly createdBy: SipMessageView;
}

export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId};${localTag};${remoteTag}`;
}

export class EmbeddedDialog extends TypedEmitter<DialogEvents> implements Dialog {
  readonly id: string;
  readonly callId: string;
  readonly type: 'uas' | 'uac';
  readonly local: Party;
  readonly remote: Party;
  readonly createdBy: SipMessageView;
  private ended = false;
  private remoteSeq: number | undefined;
  private readonly path: DialogPath;
  /** Our re-INVITE/UPDATE awaiting its answer, and the peer's awaiting ours: overlapping offers are glare. */
  private offering = false;
  private answering = false;
  private lastAck: SentAck | undefined;
  private bye: Promise<void> | undefined;

  constructor(
    private readonly stack: SipStack,
    init: DialogInit,
  ) {
    super();
    this.id = dialogId(init.callId, init.localTag, init.remoteTag);
    this.callId = init.callId;
    this.type = init.type;
    this.local = new Party(uriOf(init.localNameAddr), init.localTag, uriOf(stack.contact(init.transport)), init.localSdp);
    this.remote = new Party(uriOf(init.remoteNameAddr), init.remoteTag, init.remoteTarget, init.remoteSdp);
    this.createdBy = init.createdBy;
    this.remoteSeq = init.remoteSeq;
    this.path = new DialogPath(
      stack,
      init.callId,
      init.localNameAddr,
      init.remoteNameAddr,
      init.remoteTarget,
      init.routeSet,
      init.transport,
      init.flow,
      init.localSeq,
    );
    stack.dialogs.set(this.id, this);
    stack.log.debug({ dialog: this.id, type: this.type }, 'dialog created');
  }

  get destroyed(): boolean {
    return this.ended;
  }

  /** A target refresh (RFC 3261 §12.2): the peer's Contact in a re-INVITE or its 2xx. */
  private refreshTarget(msg: { get(name: string): string | undefined }): void {
    const contact = msg.get('contact');
    if (contact === undefined) return;
    this.path.remoteTarget = uriOf(contact);
    this.remote.contact = this.path.remoteTarget;
  }

  request(method: string, opts: { readonly headers?: Readonly<Record<string, string>>; readonly body?: string } = {}): Promise<SipMessageView> {
    const m = method.toUpperCase();
    if (this.ended) return Promise.reject(new SipError(481, 'Call/Transaction Does Not Exist'));
    if (m === 'INVITE' || m === 'ACK' || m === 'CANCEL') {
      return Promise.reject(new SipError(405, `use modify() or destroy(), not request('${m}')`));
    }
    const out = this.path.outgoing(m, opts.headers, opts.body);
    if (!out) return Promise.reject(new SipError(416, 'Unsupported URI Scheme'));
    return this.stack.request(out).catch((err: unknown) => this.unreachable(err));
  }

  /**
   * No response at all (timeout) or no way to send: the peer is gone, and
   * RFC 3261 §12.2.1.2 ends the dialog. The caller still gets the error.
   */
  private unreachable(err: unknown): never {
    if (err instanceof SipError && (err.status === 408 || err.status === 503)) this.end('transport-error');
    throw err;
  }

  modify(sdp: string, opts: { readonly headers?: Readonly<Record<string, string>> } = {}): Promise<string> {
    if (this.ended) return Promise.reject(new SipError(481, 'Call/Transaction Does Not Exist'));
    if (this.offering || this.answering) return Promise.reject(new SipError(491, 'Request Pending'));
    const out = this.path.outgoing('INVITE', opts.headers, sdp);
    if (!out) return Promise.reject(new SipError(416, 'Unsupported URI Scheme'));
    this.offering = true;
    const previous = this.local.sdp;
    this.local.sdp = sdp;
    const seq = this.path.localSeq;
    const branch = newBranch();
    return new Promise<string>((resolve, reject) => {
      const fail = (err: SipError): void => {
        this.offering = false;
        this.local.sdp = previous;
        reject(err);
      };
      this.stack.startClient(
        out,
        {
          response: (res) => {
            const status = res.status ?? 0;
            if (status < 200) return;
            if (status >= 300) {
              fail(new SipError(status, res.reason ?? ''));
              return;
            }
            this.offering = false;
            this.refreshTarget(res);
            this.sendAck(seq);
            if (res.body.length > 0) this.remote.sdp = res.body;
            resolve(res.body);
          },
          timeout: () => {
            fail(new SipError(408, 'Request Timeout'));
            this.end('transport-error');
          },
          transportError: (err) => {
            fail(new SipError(503, 'Service Unavailable', { cause: err }));
            this.end('transport-error');
          },
        },
        (res) => this.path.failureAck(out, branch, seq, res),
        branch,
      );
    });
  }

  /** ACK for a 2xx, kept to answer retransmissions of that 2xx. */
  sendAck(seq: number): void {
    const ack = this.path.successAck(seq);
    if (!ack) return;
    this.lastAck = ack;
    this.stack.transport.send(ack.text, ack.target, this.path.flowFor(ack.target));
  }

  /** A 2xx we already acknowledged came again: our ACK was lost. */
  resendAck(res: ParsedMessage): boolean {
    const ack = this.lastAck;
    if (ack === undefined || ack.seq !== res.cseq.seq) return false;
    this.stack.transport.send(ack.text, ack.target, this.path.flowFor(ack.target));
    return true;
  }

  destroy(opts: { readonly headers?: Readonly<Record<string, string>> } = {}): Promise<void> {
    if (this.bye) return this.bye;
    if (this.ended) return Promise.resolve();
    this.forget();
    this.bye = this.sendBye(opts.headers);
    return this.bye;
  }

  private sendBye(headers?: Readonly<Record<string, string>>): Promise<void> {
    const out = this.path.outgoing('BYE', headers);
    if (!out || this.stack.closed) return Promise.resolve();
    return this.stack.request(out).then(
      () => undefined,
      () => undefined,
    );
  }

  private forget(): void {
    this.ended = true;
    this.stack.dialogs.delete(this.id);
    this.stack.log.debug({ dialog: this.id }, 'dialog ended');
  }

  /** Ends the dialog from the engine's side and tells the application. */
  end(reason: DialogEndReason, req?: IncomingRequest): void {
    if (this.ended) return;
    this.forget();
    if (reason === 'ack-timeout') this.bye = this.sendBye();
    if (req !== undefined) this.safeEmit('destroy', reason, req);
    else this.safeEmit('destroy', reason);
  }

  /** An incoming in-dialog request (not ACK, not CANCEL: the engine handles those). */
  handleRequest(req: IncomingRequest, tx: ServerTransaction, res: ServerResponse): void {
    const seq = req.msg.cseq.seq;
    if (this.remoteSeq !== undefined && seq <= this.remoteSeq) {
      res.send(500, { reason: 'CSeq Out of Order' });
      return;
    }
    this.remoteSeq = seq;
    switch (req.method) {
      case 'BYE':
        res.send(200);
        this.end('bye', req);
        return;
      case 'INVITE':
      case 'UPDATE':
        this.offer(req, tx, res);
        return;
      case 'INFO':
        if (!this.safeEmit('info', req, res)) res.send(200);
        return;
      case 'NOTIFY':
        if (!this.safeEmit('notify', req, res)) res.send(200);
        return;
      case 'REFER':
        if (!this.safeEmit('refer', req, res)) res.send(603);
        return;
      case 'OPTIONS':
        res.send(200, { headers: { Allow: ALLOW, Accept: 'application/sdp' } });
        return;
      default:
        res.send(405, { headers: { Allow: ALLOW } });
    }
  }

  /** re-INVITE or UPDATE from the peer. */
  private offer(req: IncomingRequest, tx: ServerTransaction, res: ServerResponse): void {
    if (this.offering) {
      res.send(491);
      return;
    }
    if (this.answering) {
      // RFC 3261 §14.2: a second offer while we still owe an answer.
      res.send(500, { headers: { 'Retry-After': '1' } });
      return;
    }
    this.answering = true;
    if (req.method === 'INVITE') this.refreshTarget(req);
    if (req.body.length > 0) this.remote.sdp = req.body;
    res.hooks = {
      ...res.hooks,
      beforeSend: (status, body) => {
        if (status < 200) return;
        this.answering = false;
        if (status >= 300) return;
        if (body.length > 0) this.local.sdp = body;
        if (req.method !== 'INVITE') return;
        const ist = tx as InviteServerTransaction;
        ist.onAck = (ack) => {
          if (ack.body.length > 0) this.remote.sdp = ack.body;
        };
        ist.onAckTimeout = () => this.end('ack-timeout');
      },
    };
    const answer: SipResponse = res;
    if (!this.safeEmit('modify', req, answer)) res.send(200, { body: this.local.sdp });
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.stack.log.warn({ err, event, dialog: this.id }, 'dialog listener threw');
  }

  /** Engine shutdown: no BYE, but the application hears why the dialog is gone. */
  close(): void {
    this.end('engine-closed');
  }
}
