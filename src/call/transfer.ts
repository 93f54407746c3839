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
import { SipError } from '../sip/errors.js';
import { anchorSdp } from '../sip/sdp.js';
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

/** Why capture must stop whatever the line says, if the target is a payment target or an unrecorded extension. */
export function forcedStopFor(call: Call, target: string): string | undefined {
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

export async function handleRefer(call: Call, dialog: Dialog, req: SipRequest, res: SipResponse): Promise<void> {
  if (call.ended || dialog !== call.agentDialog) {
    res.send(481, { reason: 'Call Does Not Exist' });
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
    res.send(202, { reason: 'Accepted' });
    await notify(dialog, 100, 'Trying', false);
    const shape: TransferShape = referTo.replaces !== undefined ? 'refer-replaces' : 'refer';
    const forced = forcedStopFor(call, referTo.uri);
    const previous = call.operator;
    const paused = call.capture?.pause('transfer', previous ?? 'agent') === true;
    let next: Dialog;
    try {
      next = await call.deps.engine.createUAC(referTo.uri, {
        localSdp: anchorSdp(call.req.body, { address: call.deps.rtp.publicAddress, port: call.agentLeg?.localPort ?? 0 }),
        from: `sip:${call.req.callingNumber || 'anonymous'}@${call.deps.sipPublicAddress}`,
        headers: {
          ...(referTo.replaces !== undefined ? { Replaces: referTo.replaces } : {}),
          ...(req.get('referred-by') ? { 'Referred-By': req.get('referred-by') ?? '' } : {}),
        },
      });
    } catch (err) {
      const status = err instanceof SipError ? err.status : 500;
      const reason = err instanceof SipError ? err.reason : 'Server Internal Error';
      call.log.info({ target: referTo.uri, status }, 'transfer failed; the call stays with the agent');
      if (paused) call.capture?.resume('transfer-failed', previous ?? 'agent');
      await notify(dialog, status, reason, true);
      return;
    }
    if (call.ended) {
      await next.destroy().catch(() => undefined);
      return;
    }
    const operator = operatorOf(next.createdBy);
    await call.adoptAgentDialog(next);
    if (operator !== undefined) call.operator = operator;
    // The new agent is on the line: from here on the line's policy decides what is kept.
    if (paused) call.capture?.resume('transfer', previous ?? 'agent');
    await call.capture?.transfer({
      shape,
      target: referTo.uri,
      ...(previous !== undefined ? { from: previous } : {}),
      ...(operator !== undefined ? { to: operator } : {}),
      ...(forced !== undefined ? { forced } : {}),
    });
    await notify(dialog, 200, 'OK', true);
    await dialog.destroy().catch(() => undefined);
  } finally {
    transferring.delete(call);
  }
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

/** Whether `replaces` names this call's agent dialog (our tag is the from-tag we sent, theirs the to-tag, or the other way round from their side). */
export function replacesAgentDialog(call: Call, replaces: { callId: string; toTag: string; fromTag: string }): boolean {
  const d = call.agentDialog;
  if (!d || d.callId !== replaces.callId) return false;
  const tags = new Set([d.local.tag, d.remote.tag]);
  return tags.has(replaces.toTag) && tags.has(replaces.fromTag);
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
  const previous = call.operator;
  const operator = assertedOperatorOf(req) ?? userOf(req.get('from'));
  await call.adoptAgentDialog(next);
  if (operator !== undefined) call.operator = operator;
  const target = req.uri;
  const forced = forcedStopFor(call, operator ?? target);
  await call.capture?.transfer({
    shape: 'invite-replaces',
    target: operator ?? target,
    ...(previous !== undefined ? { from: previous } : {}),
    ...(operator !== undefined ? { to: operator } : {}),
    ...(forced !== undefined ? { forced } : {}),
  });
  await old.destroy().catch(() => undefined);
}
