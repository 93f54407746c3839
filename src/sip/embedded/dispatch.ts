/**
 * Incoming messages, from frame to transaction, dialog or application
 * (RFC 3261 §8.2, §12.2.2, §17.2.3). Nothing here may throw into a socket handler.
 */
import { ALLOW, type HeaderList } from './build.js';
import { clientTxKey } from './client-tx.js';
import { dialogId } from './dialog.js';
import { readMessage, type ParsedMessage } from './message.js';
import { IncomingRequest } from './request.js';
import { ServerResponse } from './response.js';
import { InviteServerTransaction, NonInviteServerTransaction, serverTxKey, type ServerTransaction } from './server-tx.js';
import { ackKey, type SipStack } from './stack.js';
import type { Frame } from './framing.js';
import type { Source } from './transport.js';

/** Hands a new out-of-dialog INVITE to the application; false when nobody listens. */
export type InviteSink = (req: IncomingRequest, res: ServerResponse) => boolean;

const CONTACT_METHODS = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

export function handleFrame(stack: SipStack, frame: Frame, source: Source, onInvite: InviteSink): void {
  if (stack.closed) return;
  try {
    const r = readMessage(frame);
    if (!r.ok) {
      stack.counters.malformed++;
      if (r.basis) {
        stack.counters.rejected400++;
        stack.replyStateless(r.basis, 400, r.reason, source);
      } else {
        stack.counters.dropped++;
      }
      return;
    }
    stack.counters.received++;
    if (r.msg.type === 'response') onResponse(stack, r.msg);
    else onRequest(stack, new IncomingRequest(r.msg, source), onInvite);
  } catch (err) {
    // A bug of ours must not become a crash a peer can trigger: count it and go on.
    stack.counters.dropped++;
    stack.log.warn({ err }, 'incoming message handling failed');
  }
}

/** A stream or datagram that never became a message. */
export function handleBadInput(stack: SipStack, reason: string, source: Source): void {
  stack.counters.malformed++;
  stack.counters.dropped++;
  stack.log.debug({ reason, peer: `${source.address}:${source.port}`, transport: source.transport }, 'bad input dropped');
}

function onResponse(stack: SipStack, msg: ParsedMessage): void {
  const tx = stack.clientTx.get(clientTxKey(msg.via.branch, msg.cseq.method));
  if (tx) {
    tx.receive(msg);
    return;
  }
  const status = msg.status ?? 0;
  if (status >= 200 && status < 300 && msg.cseq.method === 'INVITE') {
    const dialog = stack.dialogs.get(dialogId(msg.callId, msg.fromTag ?? '', msg.toTag ?? ''));
    if (dialog?.resendAck(msg) === true) return;
  }
  stack.counters.dropped++;
}

function newServerTx(stack: SipStack, req: IncomingRequest): { tx: ServerTransaction; res: ServerResponse } {
  const tx = req.method === 'INVITE' ? new InviteServerTransaction(stack, req) : new NonInviteServerTransaction(stack, req);
  const res = new ServerResponse(tx, stack.userAgent);
  tx.response = res;
  if (tx instanceof InviteServerTransaction) tx.toTag = res.toTag;
  const method = req.method;
  const transport = req.source.transport;
  res.hooks.headers = (status): HeaderList => {
    const h: HeaderList = [];
    if (status > 100 && status < 300 && CONTACT_METHODS.has(method)) h.push(['Contact', stack.contact(transport)]);
    if (status === 405) h.push(['Allow', ALLOW]);
    return h;
  };
  stack.serverTx.set(tx.key, tx);
  return { tx, res };
}

function onRequest(stack: SipStack, req: IncomingRequest, onInvite: InviteSink): void {
  const { msg } = req;
  if (req.method === 'ACK') {
    onAck(stack, req);
    return;
  }
  const existing = stack.serverTx.get(serverTxKey(msg));
  if (existing) {
    existing.retransmission();
    return;
  }
  const { tx, res } = newServerTx(stack, req);
  const mf = msg.get('max-forwards');
  if (mf !== undefined && /^\s*0+\s*$/.test(mf)) {
    res.send(483);
    return;
  }
  if (req.method === 'CANCEL') {
    onCancel(stack, req, res);
    return;
  }
  if (msg.toTag !== undefined) {
    const dialog = stack.dialogs.get(dialogId(msg.callId, msg.toTag, msg.fromTag ?? ''));
    if (dialog) dialog.handleRequest(req, tx, res);
    else res.send(481);
    return;
  }
  switch (req.method) {
    case 'INVITE':
      res.send(100);
      if (!onInvite(req, res)) res.send(480);
      return;
    case 'OPTIONS':
      if (stack.outOfService !== undefined) res.send(503, { headers: { 'Retry-After': String(stack.outOfService) } });
      else res.send(200, { headers: { Allow: ALLOW, Accept: 'application/sdp' } });
      return;
    default:
      res.send(405);
  }
}

function onAck(stack: SipStack, req: IncomingRequest): void {
  const { msg } = req;
  const ist = stack.serverTx.get(serverTxKey(msg));
  if (ist instanceof InviteServerTransaction && (ist.state === 'completed' || ist.state === 'confirmed')) {
    ist.ackForFailure();
    return;
  }
  const waiting = stack.ackWait.get(ackKey(msg.callId, msg.toTag ?? '', msg.cseq.seq));
  if (waiting) {
    waiting.ackForSuccess(req);
    return;
  }
  // ACKs are never answered; a stray one (or a retransmission after we stopped waiting) is dropped.
  stack.counters.dropped++;
}

/** RFC 3261 §9.2: CANCEL matches the INVITE server transaction by branch and sent-by. */
function onCancel(stack: SipStack, req: IncomingRequest, res: ServerResponse): void {
  const ist = stack.serverTx.get(serverTxKey(req.msg, 'INVITE'));
  if (!(ist instanceof InviteServerTransaction)) {
    res.send(481);
    return;
  }
  res.send(200);
  if (ist.finalStatus !== 0 || ist.response === undefined) return;
  ist.response.send(487);
  ist.req.markCanceled();
}
