/**
 * The engine's shared state: transport, transaction and dialog tables, counters,
 * and the helpers every part uses to address a peer (Via, Contact, requests).
 */
import type net from 'node:net';
import type { Logger } from '../../ops/log.js';
import type { EngineStats, Transport } from '../engine.js';
import { SipError } from '../errors.js';
import { formatRequest, formatResponse, newBranch, newTag, withTag, type HeaderList } from './build.js';
import {
  InviteClientTransaction,
  NonInviteClientTransaction,
  type ClientTransaction,
  type ClientTxHost,
  type ClientTxUser,
} from './client-tx.js';
import type { EmbeddedDialog } from './dialog.js';
import { parseTopVia, type ParsedMessage, type ReplyBasis } from './message.js';
import type { InviteServerTransaction, ReplyPath, ServerTransaction, ServerTxHost } from './server-tx.js';
import type { TimerValues } from './timers.js';
import type { Peer, SipTransport, Source } from './transport.js';

export function ackKey(callId: string, toTag: string, seq: number): string {
  return `${callId}|${toTag}|${seq}`;
}

export interface OutgoingRequest {
  readonly method: string;
  readonly uri: string;
  /** Everything but Via, which the stack writes with a fresh branch. */
  readonly headers: HeaderList;
  readonly body?: string;
  readonly target: Peer;
  readonly flow?: net.Socket | undefined;
}

export class SipStack implements ServerTxHost, ClientTxHost {
  readonly serverTx = new Map<string, ServerTransaction>();
  readonly clientTx = new Map<string, ClientTransaction>();
  /** INVITE server transactions whose 2xx awaits its ACK, by Call-ID|To-tag|CSeq. */
  readonly ackWait = new Map<string, InviteServerTransaction>();
  readonly dialogs = new Map<string, EmbeddedDialog>();
  readonly counters = { received: 0, malformed: 0, rejected400: 0, dropped: 0 };
  /** Rejecters of createUAS/createUAC promises still open: close() settles them. */
  readonly pending = new Set<(err: Error) => void>();
  closed = false;
  /** Set while draining: out-of-dialog OPTIONS get 503 with this Retry-After. */
  outOfService: number | undefined;

  constructor(
    readonly transport: SipTransport,
    readonly timers: TimerValues,
    readonly publicAddress: string,
    readonly userAgent: string,
    readonly log: Logger,
  ) {}

  get stats(): EngineStats {
    return { ...this.counters, dialogs: this.dialogs.size, transactions: this.serverTx.size + this.clientTx.size };
  }

  get port(): number {
    return this.transport.port;
  }

  via(transport: Transport, branch: string): string {
    return `SIP/2.0/${transport.toUpperCase()} ${this.publicAddress}:${this.port};branch=${branch};rport`;
  }

  contact(transport: Transport): string {
    return `<sip:recgw@${this.publicAddress}:${this.port}${transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  // ServerTxHost
  sendResponse(text: string, to: ReplyPath): void {
    if (this.closed) return;
    const { source, flow } = to;
    if (source.transport === 'tcp' && (flow === undefined || flow.destroyed)) {
      // The connection is gone: a new one goes to the sent-by port, not the peer's ephemeral one.
      this.transport.send(text, { address: source.address, port: to.replyPort ?? 5060, transport: 'tcp' });
      return;
    }
    this.transport.send(text, source, flow);
  }

  serverTxEnded(tx: ServerTransaction): void {
    if (this.serverTx.get(tx.key) === tx) this.serverTx.delete(tx.key);
    if (tx.ackKey !== undefined && this.ackWait.get(tx.ackKey) === tx) this.ackWait.delete(tx.ackKey);
  }

  awaitAck(tx: InviteServerTransaction): void {
    tx.ackKey = ackKey(tx.req.msg.callId, tx.toTag, tx.req.msg.cseq.seq);
    this.ackWait.set(tx.ackKey, tx);
  }

  // ClientTxHost
  sendRequest(text: string, target: Peer, flow: net.Socket | undefined, onError: (err: Error) => void): void {
    if (this.closed) return;
    this.transport.send(text, target, flow, onError);
  }

  clientTxEnded(tx: ClientTransaction): void {
    if (this.clientTx.get(tx.key) === tx) this.clientTx.delete(tx.key);
  }

  /** Answers without a transaction: for requests we refuse before acting (400, 483). */
  replyStateless(basis: ReplyBasis, status: number, reason: string, source: Source): void {
    const headers: HeaderList = [
      ...basis.via.map((v): [string, string] => ['Via', v]),
      ['From', basis.from],
      ['To', withTag(basis.to, newTag())],
      ['Call-ID', basis.callId],
      ['CSeq', basis.cseq],
      ['Server', this.userAgent],
    ];
    const sentBy = parseTopVia(basis.via.join(','))?.sentBy ?? '';
    const replyPort = Number(/:(\d+)$/.exec(sentBy)?.[1] ?? 5060);
    this.sendResponse(formatResponse(status, reason, headers), { source, flow: source.flow, replyPort });
  }

  /** Writes Via and starts a client transaction; returns it with its branch. */
  startClient(
    req: OutgoingRequest,
    user: ClientTxUser,
    ackFor?: (res: ParsedMessage) => string,
    branch: string = newBranch(),
  ): ClientTransaction {
    const headers: HeaderList = [['Via', this.via(req.target.transport, branch)], ...req.headers];
    const text = formatRequest(req.method, req.uri, headers, req.body ?? '');
    const spec = { method: req.method, branch, text, target: req.target, flow: req.flow };
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(this, spec, user, ackFor ?? (() => ''))
        : new NonInviteClientTransaction(this, spec, user);
    if (this.closed) {
      queueMicrotask(() => user.transportError(new Error('engine closed')));
      return tx;
    }
    this.clientTx.set(tx.key, tx);
    tx.start();
    return tx;
  }

  /** A non-INVITE request; resolves with its final response, rejects with SipError 408/503. */
  request(req: OutgoingRequest): Promise<ParsedMessage> {
    return new Promise((resolve, reject) => {
      this.startClient(req, {
        response: (res) => {
          if ((res.status ?? 0) >= 200) resolve(res);
        },
        timeout: () => reject(new SipError(408, 'Request Timeout')),
        transportError: (err) => reject(new SipError(503, 'Service Unavailable', { cause: err })),
      });
    });
  }
}
