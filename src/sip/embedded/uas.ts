/** Answering an INVITE: the 200 creates the dialog, the ACK confirms it (RFC 3261 §13.3.1.4). */
import type { Dialog, SipRequest, SipResponse, UasOptions } from '../engine.js';
import { SipError } from '../errors.js';
import { splitList, withTag } from './build.js';
import { EmbeddedDialog } from './dialog.js';
import { uriOf } from './message.js';
import { IncomingRequest } from './request.js';
import { ServerResponse } from './response.js';
import { InviteServerTransaction } from './server-tx.js';
import type { SipStack } from './stack.js';

export function answerInvite(stack: SipStack, req: SipRequest, res: SipResponse, opts: UasOptions): Promise<Dialog> {
  if (!(req instanceof IncomingRequest) || !(res instanceof ServerResponse) || !(res.tx instanceof InviteServerTransaction)) {
    return Promise.reject(new SipError(500, 'createUAS needs an INVITE received by this engine'));
  }
  if (req.canceled) return Promise.reject(new SipError(487, 'Request Terminated'));
  if (res.finalResponseSent) return Promise.reject(new SipError(500, 'final response already sent'));
  const tx = res.tx;
  const { msg } = req;
  return new Promise<Dialog>((resolve, reject) => {
    let dialog: EmbeddedDialog | undefined;
    const abort = (err: Error): void => {
      stack.pending.delete(abort);
      reject(err);
    };
    stack.pending.add(abort);
    res.hooks = {
      ...res.hooks,
      beforeSend: (status, body) => {
        if (status < 200 || status >= 300) return;
        const contact = req.get('contact');
        dialog = new EmbeddedDialog(stack, {
          type: 'uas',
          callId: msg.callId,
          localNameAddr: withTag(msg.to, res.toTag),
          localTag: res.toTag,
          remoteNameAddr: msg.from,
          remoteTag: msg.fromTag ?? '',
          remoteTarget: uriOf(contact ?? msg.from),
          // UAS keeps Record-Route in the order received (§12.1.1).
          routeSet: splitList(req.get('record-route') ?? ''),
          localSeq: 0,
          remoteSeq: msg.cseq.seq,
          transport: req.source.transport,
          flow: req.flow,
          localSdp: body,
          remoteSdp: req.body,
          createdBy: req,
        });
        const d = dialog;
        tx.onAck = (ack) => {
          stack.pending.delete(abort);
          // Late offer: the INVITE came without SDP and the ACK carries the answer.
          if (d.remote.sdp.length === 0 && ack.body.length > 0) d.remote.sdp = ack.body;
          resolve(d);
        };
        tx.onAckTimeout = () => {
          // Nobody holds this dialog yet, so there is no one to tell: BYE it and fail the promise.
          void d.destroy();
          abort(new SipError(408, 'No ACK Received'));
        };
      },
    };
    res.send(200, { body: opts.localSdp, ...(opts.headers ? { headers: opts.headers } : {}) });
    if (dialog === undefined) abort(new SipError(500, 'could not send 200'));
  });
}
