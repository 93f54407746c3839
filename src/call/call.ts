/**
 * One call through the gateway: the caller leg (the trunk's INVITE, answered by
 * us), the agent leg (our INVITE to the line's queue), the two media legs
 * anchored on our ports, and the capture of each. `end()` is the one way out:
 * idempotent, it cascades to the dialogs, the media and the capture, once.
 */
import type { LineConfig } from '../config/types.js';
import { bridge, MediaLeg, unbridge, type RemoteEndpoint } from '../media/leg.js';
import { TypedEmitter } from '../ops/emitter.js';
import type { Logger } from '../ops/log.js';
import { newCallId } from '../recording/call-id.js';
import type { Dialog, SipMessageView, SipRequest, SipResponse } from '../sip/engine.js';
import { SipError } from '../sip/errors.js';
import { anchorSdp, describeAudio, SdpError, type AudioDescription } from '../sip/sdp.js';
import { announce, type AnnouncementOutcome } from './announce.js';
import { CallCapture } from './call-capture.js';
import type { LegRecording } from './capture.js';
import { manifestOf } from './manifest.js';
import type { CallDeps } from './deps.js';
import { operatorOf } from './operator.js';
import { relayInDialog } from './relay-requests.js';
import { handleRefer, transferInProgress } from './transfer.js';
import { summarise, type CallEndReason, type CallSummary } from './summary.js';

export interface CallEvents {
  answered: () => void;
  /** The caller asked not to be recorded (for the audit record). */
  'opted-out': (by: string) => void;
  ended: (summary: CallSummary) => void;
}

const NO_RECORDINGS: ReadonlyMap<'caller' | 'agent', LegRecording> = new Map();

/** Nobody on the agent side answered within `sip.ringTimeoutSec`. */
export class RingTimeout extends SipError {
  constructor(cause: unknown) {
    super(408, 'Request Timeout', { cause });
  }
}

/** What routing decided about a new call. */
export interface CallRoute {
  readonly line: LineConfig;
  readonly direction: 'inbound' | 'outbound';
  readonly target: string;
  readonly record: boolean;
  /** The trunk or PBX the INVITE came from, for the log. */
  readonly from: string;
  /** Outbound: the calling extension. */
  readonly operator?: string;
  /** The calling number the second leg presents (outbound: the line's number); the caller's own when absent. */
  readonly presentedNumber?: string;
}

export function endpointOf(d: AudioDescription): RemoteEndpoint {
  return { address: d.address, port: d.port, ...(d.rtcpPort !== undefined ? { rtcpPort: d.rtcpPort } : {}) };
}

export class Call extends TypedEmitter<CallEvents> {
  readonly id = newCallId();
  readonly startedAt = new Date();
  readonly log: Logger;
  answeredAt?: Date;
  operator?: string;
  callerLeg?: MediaLeg;
  agentLeg?: MediaLeg;
  callerDialog?: Dialog;
  agentDialog?: Dialog;
  /** The capture of both legs under the line's policy; absent while (or when) the call is not recorded. */
  capture?: CallCapture;
  /** The caller opted out before capture began (the announcement key, or the API): carried, never recorded. */
  optedOut?: { readonly by: string; readonly at: string };
  endReason?: CallEndReason;
  announcement?: AnnouncementOutcome;
  /** Status sent to the caller when the call failed before answer. */
  failStatus?: number;
  /** Set when a recorded call ends: whether its final manifest is written and says every segment is whole. */
  recordingOutcome?: 'complete' | 'incomplete';
  private readonly abort = new AbortController();
  private offer?: AudioDescription;
  private answerToCaller = '';
  private done?: Promise<void>;

  readonly line: LineConfig;
  readonly direction: 'inbound' | 'outbound';
  /** Where the gateway sends the second leg: the line's queue, or the trunk for an outbound call. */
  readonly target: string;
  /** Whether this call is recorded: the line's mode and schedule, the spool, an unrecorded extension decided it. */
  readonly record: boolean;

  constructor(
    readonly deps: CallDeps,
    readonly req: SipRequest,
    private readonly res: SipResponse,
    readonly route: CallRoute,
    /** Play the line's announcement: it records, and the caller must be told first. */
    private readonly announces: boolean = route.record,
  ) {
    super();
    this.line = route.line;
    this.direction = route.direction;
    this.target = route.target;
    this.record = route.record;
    if (route.operator !== undefined) this.operator = route.operator;
    this.log = deps.log.child({ callId: this.id, line: route.line.name });
  }

  get recordings(): ReadonlyMap<'caller' | 'agent', LegRecording> {
    return this.capture?.recordings ?? NO_RECORDINGS;
  }

  get ended(): boolean {
    return this.endReason !== undefined;
  }

  /** Resolves when the call is over and everything it held is released. */
  get finished(): Promise<void> {
    return this.done ?? new Promise((resolve) => this.once('ended', () => resolve()));
  }

  async run(): Promise<void> {
    this.log.info({ sipCallId: this.req.callId, from: this.req.callingNumber, to: this.req.calledNumber, via: this.route.from, direction: this.direction, record: this.record, transport: this.req.source.transport }, 'call started');
    this.req.on('cancel', () => this.end('caller-cancel'));
    try {
      await this.setup();
    } catch (err) {
      this.log.error({ err }, 'call setup failed');
      this.end('error', 500);
    }
  }

  private async setup(): Promise<void> {
    const { deps, req, res, line } = this;
    try {
      this.offer = describeAudio(req.body);
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.log.warn({ reason: err.message }, 'caller offer refused');
      return this.end('sdp-rejected', 488);
    }
    const g711 = this.offer.g711;
    if (!g711) return this.end('sdp-rejected', 488);
    try {
      this.callerLeg = await MediaLeg.open(deps.allocator, { name: 'caller', address: deps.rtp.publicAddress });
      this.agentLeg = await MediaLeg.open(deps.allocator, { name: 'agent', address: deps.rtp.publicAddress });
    } catch (err) {
      this.log.error({ err }, 'no media ports');
      return this.end('media-unavailable', 503);
    }
    if (this.ended) return;
    this.callerLeg.setRemote(endpointOf(this.offer));
    this.answerToCaller = anchorSdp(req.body, { address: deps.rtp.publicAddress, port: this.callerLeg.localPort });

    // The caller is told about recording on a recorded line even when this call cannot be recorded: the policy is the line's.
    const set = this.announces ? deps.announcementFor(line) : undefined;
    if (set && line.announcement) {
      if (line.announcement.mode === 'early') {
        res.send(183, { reason: 'Session Progress', body: this.answerToCaller });
      } else {
        await this.answerCaller();
        if (this.ended) return;
      }
      const outcome = await announce(this.callerLeg, set, {
        codec: g711.name,
        payloadType: g711.payloadType as 0 | 8,
        ...(this.offer.telephoneEventPayloadType !== undefined ? { telephoneEventPayloadType: this.offer.telephoneEventPayloadType } : {}),
        pacer: deps.pacer,
        signal: this.abort.signal,
        ...(line.optOut.key !== undefined ? { optOutKey: line.optOut.key } : {}),
        onOptOut: () => this.optOutBeforeCapture('caller-key'),
      });
      this.announcement = outcome;
      if (this.ended) return;
      this.log.info({ outcome, mode: line.announcement.mode }, 'announcement played');
    }
    await this.callAgent();
  }

  private async callAgent(): Promise<void> {
    const { deps, req } = this;
    const agentLeg = this.agentLeg;
    const callerLeg = this.callerLeg;
    if (!agentLeg || !callerLeg) return;
    const maxForwards = Number.parseInt(req.get('max-forwards') ?? '70', 10);
    const presented = this.route.presentedNumber;
    const pai = presented !== undefined ? `<sip:${presented}@${deps.sipPublicAddress}>` : req.get('p-asserted-identity');
    let dialog: Dialog;
    try {
      dialog = await this.dialAgentSide(this.target, {
        from: `sip:${presented ?? (req.callingNumber || 'anonymous')}@${deps.sipPublicAddress}`,
        headers: {
          'Max-Forwards': String(Number.isFinite(maxForwards) ? Math.max(0, maxForwards - 1) : 69),
          ...(pai ? { 'P-Asserted-Identity': pai } : {}),
        },
        onProvisional: (r) => this.onAgentProvisional(r),
      });
    } catch (err) {
      if (this.ended) return;
      if (err instanceof RingTimeout) return this.end('ring-timeout', 408);
      if (err instanceof SipError) {
        if (err.local) {
          // Not a busy queue: nothing there answers, so every call to this line fails the same way.
          const why = err.status === 408 ? 'sent no response at all to the INVITE' : 'could not be reached';
          this.log.warn({ status: err.status, target: this.target, err: err.cause }, `agent side ${why}: is it up, and is the line's target right?`);
        } else {
          this.log.info({ status: err.status }, 'agent leg failed');
        }
        return this.end('agent-failed', err.status, err.reason);
      }
      throw err;
    }
    this.agentDialog = dialog;
    if (this.ended) {
      await dialog.destroy().catch(() => undefined);
      return;
    }
    this.watch(dialog, 'agent');
    let answer: AudioDescription;
    try {
      answer = describeAudio(dialog.remote.sdp);
    } catch {
      return this.end('sdp-rejected', 488);
    }
    agentLeg.setRemote(endpointOf(answer));
    // Inbound, the operator is the agent who answered; outbound, the extension that called (already set).
    const operator = this.direction === 'inbound' ? operatorOf(dialog.createdBy) : undefined;
    if (operator !== undefined) this.operator = operator;
    // Capture is armed before the bridge opens, so the agent's first packet,
    // which may beat the caller's ACK, is recorded like every other.
    if (this.record && !this.optedOut && this.offer) this.startCapture(this.offer, answer);
    bridge(callerLeg, agentLeg);
    this.answeredAt = new Date();
    this.log.info({ operator: this.operator, agentSipCallId: dialog.callId }, 'leg answered');
    if (!this.callerDialog) await this.answerCaller();
    if (this.ended) return;
    this.safeEmit('answered');
  }

  /**
   * Rings `uri` on the agent side with the caller's offer anchored on the
   * agent leg — the first agent, or a transfer target — for at most
   * `sip.ringTimeoutSec` (then RingTimeout), cancelled when the call ends.
   */
  async dialAgentSide(
    uri: string,
    opts: { readonly from: string; readonly headers: Readonly<Record<string, string>>; readonly onProvisional?: (r: SipMessageView) => void },
  ): Promise<Dialog> {
    const { deps } = this;
    const ring = new AbortController();
    const onEnd = (): void => ring.abort();
    this.abort.signal.addEventListener('abort', onEnd, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ring.abort();
    }, deps.ringTimeoutSec * 1000);
    try {
      return await deps.engine.createUAC(uri, {
        localSdp: anchorSdp(this.req.body, { address: deps.rtp.publicAddress, port: this.agentLeg?.localPort ?? 0 }),
        from: opts.from,
        headers: opts.headers,
        signal: ring.signal,
        ...(opts.onProvisional ? { onProvisional: opts.onProvisional } : {}),
      });
    } catch (err) {
      // Cancelled because nobody answered in time: a 408, not our CANCEL's 487.
      throw timedOut ? new RingTimeout(err) : err;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onEnd);
    }
  }

  private async answerCaller(): Promise<void> {
    try {
      this.callerDialog = await this.deps.engine.createUAS(this.req, this.res, { localSdp: this.answerToCaller });
    } catch (err) {
      this.log.warn({ err }, 'caller leg not confirmed');
      return this.end('ack-timeout');
    }
    this.watch(this.callerDialog, 'caller');
  }

  private onAgentProvisional(r: SipMessageView): void {
    if (this.ended || this.callerDialog || this.res.finalResponseSent || r.status === undefined) return;
    if (r.body && this.agentLeg && this.callerLeg) {
      // Early media from the queue (ringback, queue music) flows like the call will.
      try {
        this.agentLeg.setRemote(endpointOf(describeAudio(r.body)));
        bridge(this.callerLeg, this.agentLeg);
      } catch {
        // an early SDP we cannot read: the caller keeps hearing local ringback
      }
      this.res.send(183, { reason: 'Session Progress', body: this.answerToCaller });
    } else {
      this.res.send(r.status, r.reason !== undefined ? { reason: r.reason } : {});
    }
  }

  private watch(dialog: Dialog, side: 'caller' | 'agent'): void {
    dialog.on('destroy', (reason) => {
      // The agent dialog a transfer replaced ends on its own; the call goes on with the new one.
      if (side === 'agent' && dialog !== this.agentDialog) return;
      // A transferor commonly hangs up right after the 202: the REFER carries on, and ends the call itself if it fails.
      if (side === 'agent' && transferInProgress(this)) {
        this.log.info({ reason }, 'transferor left during the transfer');
        return;
      }
      this.log.info({ side, reason }, 'leg ended');
      this.end(side === 'caller' ? 'caller-bye' : 'agent-bye');
    });
    relayInDialog(this, dialog, side);
    if (side === 'agent') dialog.on('refer', (req, res) => void handleRefer(this, dialog, req, res));
  }

  /** The caller does not want to be recorded, and nothing has been yet: capture will never start. */
  optOutBeforeCapture(by: string): void {
    if (this.optedOut || this.capture) return;
    this.optedOut = { by, at: new Date().toISOString() };
    this.log.warn({ by }, 'caller opted out of recording before capture began: the call is carried unrecorded');
    this.safeEmit('opted-out', by);
  }

  /**
   * A transfer put a new agent dialog in place of the old one: media re-latch
   * to the new agent, in-dialog requests and BYE now come from it, and the
   * caller is re-offered the new agent's media (which also takes the caller
   * off hold). The old dialog is the transfer's to end.
   */
  async adoptAgentDialog(dialog: Dialog): Promise<void> {
    this.agentDialog = dialog;
    this.watch(dialog, 'agent');
    const answer = describeAudio(dialog.remote.sdp);
    this.agentLeg?.setRemote(endpointOf(answer));
    const callerDialog = this.callerDialog;
    const callerLeg = this.callerLeg;
    if (!callerDialog || !callerLeg) return;
    try {
      const callerAnswer = await callerDialog.modify(anchorSdp(dialog.remote.sdp, { address: this.deps.rtp.publicAddress, port: callerLeg.localPort }));
      callerLeg.setRemote(endpointOf(describeAudio(callerAnswer)));
    } catch (err) {
      this.log.warn({ err }, 'caller did not take the re-offer after a transfer; media stays as it was');
    }
  }

  private startCapture(callerOffer: AudioDescription, agentAnswer: AudioDescription): void {
    this.capture = new CallCapture(this, callerOffer, agentAnswer);
    this.log.info({ legs: this.recordings.size, codec: callerOffer.g711?.name }, 'capture started');
    // Written now, so that even a crash leaves a record of the call (which says it is incomplete).
    this.deps.writer.writeManifest(manifestOf(this, 'start')).catch((err: unknown) => this.log.error({ err }, 'manifest not written'));
  }

  /** Ends the call once; later calls do nothing. `status` answers a caller still waiting for a final response. */
  end(reason: CallEndReason, status?: number, statusReason?: string): void {
    if (this.ended) return;
    this.endReason = reason;
    if (status !== undefined) this.failStatus = status;
    this.abort.abort();
    if (!this.res.finalResponseSent && !this.req.canceled) {
      this.res.send(status ?? 500, statusReason !== undefined ? { reason: statusReason } : {});
    }
    this.done = this.teardown();
  }

  private async teardown(): Promise<void> {
    const { callerLeg, agentLeg } = this;
    if (callerLeg && agentLeg) unbridge(callerLeg, agentLeg);
    await this.capture?.end();
    if (this.capture && this.recordings.size > 0) {
      const records = this.capture.segments();
      this.log.info({ segments: records.map((r) => r.key) }, 'capture stopped');
      const failed = records.filter((r) => r.error !== undefined);
      if (failed.length > 0) {
        const segments = failed.map((r) => ({ key: r.key, err: r.error }));
        this.log.warn({ segments }, 'recording incomplete: segments could not be closed; each keeps what reached the spool, and the manifest says why');
      }
      const manifest = manifestOf(this, 'final');
      const written = await this.deps.writer.writeManifest(manifest).then(
        () => true,
        (err: unknown) => {
          this.log.error({ err }, 'manifest not written');
          return false;
        },
      );
      this.recordingOutcome = written && manifest.complete ? 'complete' : 'incomplete';
    }
    await Promise.all(
      [this.callerDialog, this.agentDialog].map(async (d) => {
        if (d && !d.destroyed) await d.destroy().catch(() => undefined);
      }),
    );
    callerLeg?.close();
    agentLeg?.close();
    const summary = summarise(this);
    // callId and line are already on the call's child logger.
    const { callId: _callId, line: _line, ...counters } = summary;
    this.log.info(counters, 'call ended');
    this.safeEmit('ended', summary);
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.log.error({ err, event }, 'call listener failed');
  }
}
