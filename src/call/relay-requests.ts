/**
 * Passes in-dialog requests from one leg to the other, as a B2BUA must:
 * re-INVITE and UPDATE (hold with sendonly / inactive / 0.0.0.0, unhold,
 * codec change) are re-offered to the other side with our address, and both
 * media legs re-latch to the new SDP; INFO (DTMF relay) is forwarded as is.
 */
import type { Dialog, SipRequest, SipResponse } from '../sip/engine.js';
import { SipError } from '../sip/errors.js';
import { anchorSdp, describeAudio, type AudioDescription } from '../sip/sdp.js';
import type { Call } from './call.js';
import { endpointOf } from './call.js';

type Side = 'caller' | 'agent';

function sides(call: Call, from: Side) {
  return from === 'caller'
    ? { thisLeg: call.callerLeg, otherLeg: call.agentLeg, otherDialog: call.agentDialog }
    : { thisLeg: call.agentLeg, otherLeg: call.callerLeg, otherDialog: call.callerDialog };
}

function failureOf(err: unknown): { status: number; reason: string } {
  return err instanceof SipError ? { status: err.status, reason: err.reason } : { status: 500, reason: 'Server Internal Error' };
}

async function relayModify(call: Call, dialog: Dialog, from: Side, req: SipRequest, res: SipResponse): Promise<void> {
  const { thisLeg, otherLeg, otherDialog } = sides(call, from);
  if (!thisLeg || !otherLeg || !otherDialog || call.ended) {
    res.send(481, { reason: 'Call Does Not Exist' });
    return;
  }
  if (!req.body) {
    // A session refresh without an offer: answer with what we already agreed.
    res.send(200, { body: dialog.local.sdp });
    return;
  }
  let offer: AudioDescription;
  try {
    offer = describeAudio(req.body);
  } catch {
    res.send(488, { reason: 'Not Acceptable Here' });
    return;
  }
  const address = call.deps.rtp.publicAddress;
  try {
    const answerSdp = await otherDialog.modify(anchorSdp(req.body, { address, port: otherLeg.localPort }));
    const answer = describeAudio(answerSdp);
    thisLeg.setRemote(endpointOf(offer));
    otherLeg.setRemote(endpointOf(answer));
    res.send(200, { body: anchorSdp(answerSdp, { address, port: thisLeg.localPort }) });
    call.log.info({ from, direction: offer.direction, hold: offer.onHold, method: req.method }, 'call modified');
  } catch (err) {
    const f = failureOf(err);
    call.log.warn({ from, status: f.status }, 'modify refused by the other side');
    res.send(f.status, { reason: f.reason });
  }
}

async function relayInfo(call: Call, from: Side, req: SipRequest, res: SipResponse): Promise<void> {
  const { otherDialog } = sides(call, from);
  if (!otherDialog || call.ended) {
    res.send(481, { reason: 'Call Does Not Exist' });
    return;
  }
  const contentType = req.get('content-type');
  try {
    const r = await otherDialog.request('INFO', { ...(contentType ? { headers: { 'Content-Type': contentType } } : {}), body: req.body });
    res.send(r.status ?? 500, r.reason !== undefined ? { reason: r.reason } : {});
  } catch (err) {
    const f = failureOf(err);
    res.send(f.status, { reason: f.reason });
  }
}

export function relayInDialog(call: Call, dialog: Dialog, from: Side): void {
  dialog.on('modify', (req, res) => void relayModify(call, dialog, from, req, res));
  dialog.on('info', (req, res) => void relayInfo(call, from, req, res));
}
