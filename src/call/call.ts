/**
 * One call through the gateway: the caller leg (the trunk's INVITE, answered by
 * us), the agent leg (our INVITE to the line's queue), the two media legs
 * anchored on our ports, and the capture of each. `end()` is the one way out:
 * idempotent, it cascades to the dialogs, the media and the capture, once.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LineConfig, TrunkConfig } from '../config/types.js';
import { bridge, MediaLeg, unbridge, type RemoteEndpoint } from '../media/leg.js';
import { TypedEmitter } from '../ops/emitter.js';
import type { Logger } from '../ops/log.js';
import type { Dialog, SipMessageView, SipRequest, SipResponse } from '../sip/engine.js';
import { SipError } from '../sip/errors.js';
import { anchorSdp, describeAudio, SdpError, type AudioDescription } from '../sip/sdp.js';
import { announce, type AnnouncementOutcome } from './announce.js';
import { startLegCapture, type LegRecording } from './capture.js';
import { manifestOf } from './manifest.js';
import type { CallDeps } from './deps.js';
import { operatorOf } from './operator.js';
import { relayInDialog } from './relay-requests.js';
import { summarise, type CallEndReason, type CallSummary } from './summary.js';

export interface CallEvents {
  answered: () => void;
  ended: (summary: CallSummary) => void;
}

export function endpointOf(d: AudioDescription): RemoteEndpoint {
  return { address: d.address, port: d.port, ...(d.rtcpPort !== undefined ? { rtcpPort: d.rtcpPort } : {}) };
}

export class Call extends TypedEmitter<CallEvents> {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  readonly log: Logger;
  answeredAt?: Date;
  operator?: string;
  callerLeg?: MediaLeg;
  agentLeg?: MediaLeg;
  callerDialog?: Dialog;
  agentDialog?: Dialog;
  readonly recordings = new Map<'caller' | 'agent', LegRecording>();
  endReason?: CallEndReason;
  announcement?: AnnouncementOutcome;
  /** Status sent to the caller when the call failed before answer. */
  failStatus?: number;
  private readonly abort = new AbortController();
  private offer?: AudioDescription;
  private answerToCaller = '';
  private done?: Promise<void>;

  constructor(
    readonly deps: CallDeps,
    readonly req: SipRequest,
    private readonly res: SipResponse,
    readonly line: LineConfig,
    readonly trunk: TrunkConfig,
    /** False when the line records but recording is not possible now (spool full) and the line says continue. */
    readonly record: boolean = line.record,
  ) {
    super();
    this.log = deps.log.child({ callId: this.id, line: line.name });
  }

  get ended(): boolean {
    return this.endReason !== undefined;
  }

  /** Resolves when the call is over and everything it held is released. */
  get finished(): Promise<void> {
    return this.done ?? new Promise((resolve) => this.once('ended', () => resolve()));
  }

  async run(): Promise<void> {
    this.log.info({ sipCallId: this.req.callId, from: this.req.callingNumber, to: this.req.calledNumber, trunk: this.trunk.name, transport: this.req.source.transport }, 'call started');
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
    const set = line.record ? deps.announcementFor(line) : undefined;
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
      });
      this.announcement = outcome;
      if (this.ended) return;
      this.log.info({ outcome, mode: line.announcement.mode }, 'announcement played');
    }
    await this.callAgent();
  }

  private async callAgent(): Promise<void> {
    const { deps, req, line } = this;
    const agentLeg = this.agentLeg;
    const callerLeg = this.callerLeg;
    if (!agentLeg || !callerLeg) return;
    const ring = new AbortController();
    const onEnd = (): void => ring.abort();
    this.abort.signal.addEventListener('abort', onEnd, { once: true });
    let ringTimedOut = false;
    const timer = setTimeout(() => {
      ringTimedOut = true;
      ring.abort();
    }, deps.ringTimeoutSec * 1000);
    const maxForwards = Number.parseInt(req.get('max-forwards') ?? '70', 10);
    const pai = req.get('p-asserted-identity');
    let dialog: Dialog;
    try {
      dialog = await deps.engine.createUAC(line.target, {
        localSdp: anchorSdp(req.body, { address: deps.rtp.publicAddress, port: agentLeg.localPort }),
        from: `sip:${req.callingNumber || 'anonymous'}@${deps.sipPublicAddress}`,
        headers: {
          'Max-Forwards': String(Number.isFinite(maxForwards) ? Math.max(0, maxForwards - 1) : 69),
          ...(pai ? { 'P-Asserted-Identity': pai } : {}),
        },
        signal: ring.signal,
        onProvisional: (r) => this.onAgentProvisional(r),
      });
    } catch (err) {
      if (this.ended) return;
      if (ringTimedOut) return this.end('ring-timeout', 408);
      if (err instanceof SipError) {
        this.log.info({ status: err.status }, 'agent leg failed');
        return this.end('agent-failed', err.status, err.reason);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onEnd);
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
    const operator = operatorOf(dialog.createdBy);
    if (operator !== undefined) this.operator = operator;
    // Capture is armed before the bridge opens, so the agent's first packet,
    // which may beat the caller's ACK, is recorded like every other.
    if (this.record && this.offer) this.startCapture(this.offer, answer);
    bridge(callerLeg, agentLeg);
    this.answeredAt = new Date();
    this.log.info({ operator: this.operator, agentSipCallId: dialog.callId }, 'leg answered');
    if (!this.callerDialog) await this.answerCaller();
    if (this.ended) return;
    this.safeEmit('answered');
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
      this.log.info({ side, reason }, 'leg ended');
      this.end(side === 'caller' ? 'caller-bye' : 'agent-bye');
    });
    relayInDialog(this, dialog, side);
  }

  private startCapture(callerOffer: AudioDescription, agentAnswer: AudioDescription): void {
    const t0 = performance.now();
    const startedAt = new Date();
    for (const [leg, desc] of [[this.callerLeg, callerOffer], [this.agentLeg, agentAnswer]] as const) {
      const codec = desc.g711 ?? callerOffer.g711;
      if (!leg || !codec) continue;
      this.recordings.set(leg.name, startLegCapture(this, leg, { codec, t0, startedAt }));
    }
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
    const now = performance.now();
    await Promise.all(
      [...this.recordings.values()].map(async (r) => {
        this.deps.captureClock.remove(r.capture);
        try {
          await r.capture.stop(now);
        } catch (err) {
          this.log.error({ err, leg: r.leg }, 'segment did not close');
        }
      }),
    );
    if (this.recordings.size > 0) {
      this.log.info({ segments: [...this.recordings.values()].flatMap((r) => r.sink.segments.map((x) => x.key)) }, 'capture stopped');
      await this.deps.writer.writeManifest(manifestOf(this, 'final')).catch((err: unknown) => this.log.error({ err }, 'manifest not written'));
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
