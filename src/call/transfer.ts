/**
 * Transfers the gateway carries out itself, as the B2BUA in the middle:
 *
 * - REFER from the agent side (blind, or attended with `?Replaces=` in the
 *   Refer-To): accepted with 202, progress reported with NOTIFY (sipfrag),
 *   the target called by the gateway with the caller's offer, the caller
 *   bridged to it, and the old agent dialog ended.
 * - INVITE with Replaces from the agent side, naming our agent dialog: the
 *   new dialog takes the old one's place.
 *
 * Capture pauses the moment the REFER arrives (so nothing after it is kept,
 * and what is buffered of the hand-over is cut too), then the line's policy
 * applies when the new agent answers: stop, or split into a segment naming
 * the new operator. A payment target or an unrecorded extension always stops.
 * A failed transfer resumes capture where it was.
 */
import type { Dialog, SipRequest, SipResponse } from '../sip/engine.js';
import { failureOf } from '../sip/errors.js';
import { anchorSdp, describeAudio } from '../sip/sdp.js';
import type { Call } from './call.js';
import type { TransferShape } from './call-capture.js';
import { assertedOperatorOf, operatorOf, userOf } from './operator.js';
import { matchesTarget } from './router.js';

interface ReferTo {
  /** The target's URI without its header part. */
  readonly uri: string;
  /** The Replaces header the target's INVITE must carry (attended transfer). */
  readonly replaces?: string;
}

/** `<sip:2002@pbx;transport=tcp?Replaces=abc%40pbx%3Bto-tag%3D1%3Bfrom-tag%3D2>` → uri and Replaces. */
export function parseReferTo(value: string | undefined): ReferTo | null {
  if (!value) return null;
  const m = /<([^>]+)>/.exec(value) ?? /^\s*(\S+)/.exec(value);
  const raw = m?.[1];
  if (!raw || !/^sips?:/i.test(raw)) return null;
  const q = raw.indexOf('?');
  if (q < 0) return { uri: raw };
  let replaces: string | undefined;
  for (const part of raw.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).toLowerCase() === 'replaces') {
      try {
        replaces = decodeURIComponent(part.slice(eq + 1));
      } catch {
        return null;
      }
    }
  }
  return { uri: raw.slice(0, q), ...(replaces !== undefined ? { replaces } : {}) };
}

/** Why the line's transfer policy does not apply to `target`: a payment target (capture pauses) or an unrecorded extension (it stops). */
export function overrideFor(call: Call, target: string): string | undefined {
  if (matchesTarget(call.line.paymentTargets, target)) return 'payment-target';
  if (matchesTarget(call.line.unrecordedExtensions, target)) return 'unrecorded-extension';
  return undefined;
}

async function notify(dialog: Dialog, status: number, reason: string, final: boolean): Promise<void> {
  try {
    await dialog.request('NOTIFY', {
      headers: {
        Event: 'refer',
        'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60',
        'Content-Type': 'message/sipfrag;version=2.0',
      },
      body: `SIP/2.0 ${status} ${reason}\r\n`,
    });
  } catch {
    // The transferor may already be gone; the transfer's outcome does not depend on it hearing of it.
  }
}

/** Calls with a REFER under way: a second REFER meanwhile gets 491. */
const transferring = new WeakSet<Call>();

/**
 * Calls the transfer target with the caller's offer anchored on the agent
 * leg. Like the first agent, it may ring for `sip.ringTimeoutSec` at most,
 * and is cancelled when the call ends meanwhile.
 */
function callTarget(call: Call, referTo: ReferTo, req: SipRequest): Promise<Dialog> {
  const referredBy = req.get('referred-by');
  const pai = call.req.get('p-asserted-identity');
  return call.dialAgentSide(referTo.uri, {
    from: `sip:${call.req.callingNumber || 'anonymous'}@${call.deps.sipPublicAddress}`,
    headers: {
      ...(referTo.replaces !== undefined ? { Replaces: referTo.replaces } : {}),
      ...(referredBy ? { 'Referred-By': referredBy } : {}),
      ...(pai ? { 'P-Asserted-Identity': pai } : {}),
    },
  });
}

/** Whether a REFER of this call is being carried out (the old agent dialog still stands until it is done). */
export function transferInProgress(call: Call): boolean {
  return transferring.has(call);
}

export async function handleRefer(call: Call, dialog: Dialog, req: SipRequest, res: SipResponse): Promise<void> {
  if (call.ended || dialog !== call.agentDialog) {
    res.send(481, { reason: 'Call Does Not Exist' });
    return;
  }
  if (call.direction !== 'inbound') {
    // On an outbound call the agent dialog is the trunk: the far party may not make the gateway call whom it likes.
    res.send(603, { reason: 'Decline' });
    return;
  }
  const referTo = parseReferTo(req.get('refer-to'));
  if (!referTo) {
    res.send(400, { reason: 'Bad Refer-To' });
    return;
  }
  if (transferring.has(call)) {
    res.send(491, { reason: 'Request Pending' });
    return;
  }
  transferring.add(call);
  try {
    await carryOutRefer(call, dialog, referTo, req, res);
  } catch (err) {
    // A bug of ours must not become an unhandled rejection: the call goes on as it is.
    call.log.error({ err, target: referTo.uri }, 'transfer failed');
  } finally {
    transferring.delete(call);
  }
}

async function carryOutRefer(call: Call, dialog: Dialog, referTo: ReferTo, req: SipRequest, res: SipResponse): Promise<void> {
  res.send(202, { reason: 'Accepted' });
  const previous = call.operator;
  // Paused before anything else is awaited: nothing after the REFER is kept (ringback, hold music, the target
  // answering), while what was said before it stays; a payment target also cuts the buffered second before.
  const forced = overrideFor(call, referTo.uri);
  const paused = call.capture?.pause('transfer', previous ?? 'agent', { lookback: forced !== undefined }) === true;
  const trying = notify(dialog, 100, 'Trying', false);
  const shape: TransferShape = referTo.replaces !== undefined ? 'refer-replaces' : 'refer';
  const fail = async (status: number, reason: string): Promise<void> => {
    if (dialog.destroyed) {
      // The transferor hung up meanwhile: there is nobody to go back to.
      call.log.info({ target: referTo.uri, status }, 'transfer failed and the transferor has left; the call ends');
      call.end('agent-bye');
      return;
    }
    call.log.info({ target: referTo.uri, status }, 'transfer failed; the call stays with the agent');
    if (paused) call.capture?.resume('transfer-failed', previous ?? 'agent');
    await trying;
    await notify(dialog, status, reason, true);
  };
  let next: Dialog;
  try {
    next = await callTarget(call, referTo, req);
  } catch (err) {
    if (call.ended) return;
    const f = failureOf(err);
    await fail(f.status, f.reason);
    return;
  }
  if (call.ended || dialog !== call.agentDialog) {
    await next.destroy().catch(() => undefined);
    return;
  }
  try {
    describeAudio(next.remote.sdp);
  } catch {
    // The caller cannot be bridged to media we cannot read: the transfer fails, the call stays.
    await next.destroy().catch(() => undefined);
    await fail(488, 'Not Acceptable Here');
    return;
  }
  const operator = operatorOf(next.createdBy);
  await call.adoptAgentDialog(next);
  if (operator !== undefined) call.operator = operator;
  // The line's policy is applied while capture is still paused, and the pause
  // closes only after it: a split then opens its segment inside the pause,
  // so not one sample between the REFER and the new agent is kept.
  await call.capture?.transfer({
    shape,
    target: referTo.uri,
    ...(previous !== undefined ? { from: previous } : {}),
    ...(operator !== undefined ? { to: operator } : {}),
    ...(forced !== undefined ? { forced } : {}),
  });
  // At a payment target the pause stays until the call leaves it.
  if (paused && call.capture?.withPaymentTarget !== true) call.capture?.resume('transfer', operator ?? 'agent');
  await trying;
  await notify(dialog, 200, 'OK', true);
  await dialog.destroy().catch(() => undefined);
}

/** Replaces: `callid;to-tag=x;from-tag=y` (RFC 3891), tags in either order. */
export function parseReplaces(value: string | undefined): { callId: string; toTag: string; fromTag: string } | null {
  if (!value) return null;
  const [callId, ...params] = value.split(';').map((p) => p.trim());
  if (!callId) return null;
  let toTag: string | undefined;
  let fromTag: string | undefined;
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim());
    if (k?.toLowerCase() === 'to-tag') toTag = v;
    else if (k?.toLowerCase() === 'from-tag') fromTag = v;
  }
  return toTag !== undefined && fromTag !== undefined ? { callId, toTag, fromTag } : null;
}

/**
 * Whether `replaces` names this call's agent dialog. RFC 3891 gives the tags
 * as the recipient sees them (to-tag ours, from-tag theirs); the other way
 * round is accepted too, as some PBXs copy them from their own side. Both
 * tags must match, one each.
 */
export function replacesAgentDialog(call: Call, replaces: { callId: string; toTag: string; fromTag: string }): boolean {
  const d = call.agentDialog;
  if (!d || d.callId !== replaces.callId) return false;
  const { toTag, fromTag } = replaces;
  return (toTag === d.local.tag && fromTag === d.remote.tag) || (toTag === d.remote.tag && fromTag === d.local.tag);
}

/** The URI in an identity header value (`"Name" <sip:u@h>;tag=x`, or a bare URI), for matching against a line's targets. */
function identityUri(value: string | undefined): string | undefined {
  if (!value) return undefined;
  return /<([^>]+)>/.exec(value)?.[1] ?? value.split(/[,;]/)[0]?.trim();
}

/**
 * An INVITE with Replaces from the agent side takes over the call's agent
 * dialog: answered with our agent-leg address, the old dialog ended.
 */
export async function acceptReplaces(call: Call, req: SipRequest, res: SipResponse): Promise<void> {
  const old = call.agentDialog;
  const agentLeg = call.agentLeg;
  if (!old || !agentLeg || call.ended) {
    res.send(481, { reason: 'Call/Transaction Does Not Exist' });
    return;
  }
  let localSdp: string;
  try {
    describeAudio(req.body);
    localSdp = anchorSdp(req.body, { address: call.deps.rtp.publicAddress, port: agentLeg.localPort });
  } catch {
    res.send(488, { reason: 'Not Acceptable Here' });
    return;
  }
  let next: Dialog;
  try {
    next = await call.deps.engine.createUAS(req, res, { localSdp });
  } catch (err) {
    call.log.warn({ err }, 'INVITE with Replaces not confirmed');
    return;
  }
  if (call.ended || old !== call.agentDialog) {
    await next.destroy().catch(() => undefined);
    return;
  }
  const previous = call.operator;
  const operator = assertedOperatorOf(req) ?? userOf(req.get('from'));
  const identity = identityUri(req.get('p-asserted-identity')) ?? identityUri(req.get('from'));
  const forced = identity !== undefined ? overrideFor(call, identity) : undefined;
  if (operator !== undefined) call.operator = operator;
  // The policy first, the new agent's media after: until adoptAgentDialog
  // points the agent leg at the new agent, none of its audio is accepted, so
  // none of it lands in the old segment or in a capture that must stop.
  await call.capture?.transfer({
    shape: 'invite-replaces',
    target: operator ?? req.uri,
    ...(previous !== undefined ? { from: previous } : {}),
    ...(operator !== undefined ? { to: operator } : {}),
    ...(forced !== undefined ? { forced } : {}),
  });
  await call.adoptAgentDialog(next);
  await old.destroy().catch(() => undefined);
}
