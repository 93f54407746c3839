/**
 * Passes in-dialog requests from one leg to the other, as a B2BUA must:
 * re-INVITE and UPDATE (hold with sendonly / inactive / 0.0.0.0, unhold,
 * codec change) are re-offered to the other side with our address, and both
 * media legs re-latch to the new SDP; INFO (DTMF relay) is forwarded as is.
 */
import type { Dialog, SipRequest, SipResponse } from '../sip/engine.js';
import { failureOf } from '../sip/errors.js';
import { anchorSdp, describeAudio, type AudioDescription } from '../sip/sdp.js';
import type { Call } from './call.js';
import { endpointOf } from './call.js';
import { dtmfOfInfo } from './info-dtmf.js';
import { assertedOperatorOf } from './operator.js';
import { overrideFor } from './transfer.js';

type Side = 'caller' | 'agent';

function sides(call: Call, from: Side) {
  return from === 'caller'
    ? { thisLeg: call.callerLeg, otherLeg: call.agentLeg, otherDialog: call.agentDialog }
    : { thisLeg: call.agentLeg, otherLeg: call.callerLeg, otherDialog: call.callerDialog };
}

async function relayModify(call: Call, dialog: Dialog, from: Side, req: SipRequest, res: SipResponse): Promise<void> {
  const { thisLeg, otherLeg, otherDialog } = sides(call, from);
  if (!thisLeg || !otherLeg || !otherDialog || call.ended) {
    res.send(481, { reason: 'Call Does Not Exist' });
    return;
  }
  if (!req.body) {
    // A session refresh without an offer: answer with what we already agreed.
    // RFC 3311: an UPDATE without an offer gets no answer; a re-INVITE without one gets our offer.
    res.send(200, req.method === 'UPDATE' ? {} : { body: dialog.local.sdp });
    // An UPDATE that only updates the connected identity (RFC 4916) carries no offer either.
    await onAgentIdentity(call, from, req);
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
    return;
  }
  await onAgentIdentity(call, from, req);
}

/**
 * A re-INVITE or UPDATE from the operator's side that asserts another
 * identity is a transfer done inside the PBX: the call now belongs to another
 * agent. The operator's side is the agent leg of an inbound call, but the
 * caller leg of an outbound one (the extension called out through us); there
 * the other side is the trunk, whose asserted identity is the far party's and
 * says nothing about who records.
 */
async function onAgentIdentity(call: Call, from: Side, req: SipRequest): Promise<void> {
  if (from !== (call.direction === 'inbound' ? 'agent' : 'caller')) return;
  const asserted = assertedOperatorOf(req);
  if (asserted === undefined || asserted === call.operator) return;
  const previous = call.operator;
  call.operator = asserted;
  // The asserted URI, not just its user part: a payment desk or a confidential extension listed as a URI is recognised too.
  const pai = req.get('p-asserted-identity') ?? '';
  const uri = /<([^>]+)>/.exec(pai)?.[1] ?? pai.split(',')[0]?.trim() ?? asserted;
  const forced = overrideFor(call, uri);
  await call.capture?.transfer({
    shape: req.method === 'UPDATE' ? 'update' : 'reinvite',
    target: asserted,
    ...(previous !== undefined ? { from: previous } : {}),
    to: asserted,
    ...(forced !== undefined ? { forced } : {}),
  });
}

async function relayInfo(call: Call, from: Side, req: SipRequest, res: SipResponse): Promise<void> {
  const { otherDialog } = sides(call, from);
  if (!otherDialog || call.ended) {
    res.send(481, { reason: 'Call Does Not Exist' });
    return;
  }
  const contentType = req.get('content-type');
  // A digit sent as INFO is cut from the recording and may be a pause or resume key; it is still relayed.
  const dtmf = dtmfOfInfo(contentType, req.body);
  if (dtmf) call.capture?.onInfoDigit(from, dtmf.digit, dtmf.durationMs);
  try {
    const r = await otherDialog.request('INFO', { ...(contentType ? { headers: { 'Content-Type': contentType } } : {}), body: req.body });
    res.send(r.status ?? 500, r.reason !== undefined ? { reason: r.reason } : {});
  } catch (err) {
    const f = failureOf(err);
    res.send(f.status, { reason: f.reason });
  }
}

export function relayInDialog(call: Call, dialog: Dialog, from: Side): void {
  dialog.on('modify', (req, res) => {
    // After a transfer the old agent dialog may still speak; only the current one is relayed.
    if (from === 'agent' && dialog !== call.agentDialog) {
      res.send(481, { reason: 'Call Does Not Exist' });
      return;
    }
    void relayModify(call, dialog, from, req, res);
  });
  dialog.on('info', (req, res) => void relayInfo(call, from, req, res));
}
