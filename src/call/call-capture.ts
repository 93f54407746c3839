/**
 * A call's capture under its line's policy: both legs' captures, the gate
 * they share (pauses, DTMF windows), the agent's pause and resume keys, and
 * what a transfer, a stop or an opt-out does to the segments. Every change is
 * placed on the call's clock and ends up in the manifest, so an auditor sees
 * each gap and why it is there.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { LineConfig } from '../config/types.js';
import { InbandDtmfDetector } from '../media/inband-dtmf.js';
import type { MediaLeg } from '../media/leg.js';
import type { PausedWindow } from '../recording/manifest.js';
import { CaptureGate, type CaptureState } from '../recording/gate.js';
import type { SegmentRecord } from '../recording/rotating-sink.js';
import type { LegName } from '../recording/writer.js';
import type { AudioCodec, AudioDescription } from '../sip/sdp.js';
import type { Call } from './call.js';
import { startLegCapture, type LegRecording } from './capture.js';
import { KeySequence } from './key-sequence.js';

export type TransferShape = 'refer' | 'refer-replaces' | 'reinvite' | 'update' | 'invite-replaces';

export interface TransferRecord {
  readonly at: string;
  readonly shape: TransferShape;
  readonly target: string;
  readonly from?: string;
  readonly to?: string;
  /** What capture did: stopped, split into a new segment, paused (a payment target), or nothing (already stopped). */
  readonly action: 'stop' | 'split' | 'pause' | 'none';
  readonly reason?: string;
}

export interface StopRecord {
  readonly at: string;
  readonly trigger: string;
  readonly by: string;
}

export interface OptOutRecord {
  readonly at: string;
  readonly by: string;
  readonly discarded: boolean;
  /** Segments the store would not delete (Object Lock retention): kept until their retention ends. */
  readonly retainedByStore?: number;
}

const SAMPLES_PER_MS = 8;

export class CallCapture {
  readonly recordings = new Map<LegName, LegRecording>();
  readonly gate: CaptureGate;
  readonly transfers: TransferRecord[] = [];
  stopped?: StopRecord;
  optOut?: OptOutRecord;
  private readonly t0 = performance.now();
  private readonly startedAt = new Date();
  private readonly keys: KeySequence | undefined;
  private closing?: Promise<void>;
  private atPayment = false;

  constructor(
    private readonly call: Call,
    callerOffer: AudioDescription,
    agentAnswer: AudioDescription,
  ) {
    const { line, deps } = call;
    this.gate = new CaptureGate({
      startedAt: this.startedAt,
      holdbackSamples: (deps.jitterMs + deps.lookbackMs) * SAMPLES_PER_MS,
      redactDtmf: line.redactDtmf,
      dtmfQuietMs: line.dtmfQuietMs,
    });
    const sequences = [
      ...(line.pauseKeys !== undefined ? [{ keys: line.pauseKeys, action: () => this.pause('agent-keys', call.operator ?? 'agent') }] : []),
      ...(line.resumeKeys !== undefined ? [{ keys: line.resumeKeys, action: () => this.resume('agent-keys', call.operator ?? 'agent') }] : []),
    ];
    this.keys = sequences.length > 0 ? new KeySequence(sequences) : undefined;
    for (const [leg, desc] of [[call.callerLeg, callerOffer], [call.agentLeg, agentAnswer]] as const) {
      const codec: AudioCodec | undefined = desc.g711 ?? callerOffer.g711;
      if (!leg || !codec) continue;
      this.recordings.set(leg.name, this.startLeg(leg, codec, desc.telephoneEventPayloadType ?? callerOffer.telephoneEventPayloadType));
    }
  }

  private startLeg(leg: MediaLeg, codec: AudioCodec, telephoneEventPayloadType: number | undefined): LegRecording {
    const { line } = this.call;
    const g711 = codec.name === 'PCMU' ? 'PCMU' : 'PCMA';
    const onDigit = (digit: string): void => this.onDigit(leg.name, digit);
    return startLegCapture(this.call, leg, {
      codec,
      t0: this.t0,
      startedAt: this.startedAt,
      gate: this.gate,
      ...(telephoneEventPayloadType !== undefined ? { telephoneEventPayloadType } : {}),
      // Tones in the audio are looked for only where they must be cut or can trigger something.
      ...(line.redactDtmf || this.keys ? { toneDetector: (events) => new InbandDtmfDetector(g711, events) } : {}),
      onDigit,
    });
  }

  get state(): CaptureState {
    return this.gate.state;
  }

  /** Live position on the call's clock. */
  private now(): number {
    return Math.floor((performance.now() - this.t0) * SAMPLES_PER_MS);
  }

  /** A digit from either leg, by RFC 4733, in-band or SIP INFO: the agent's key sequences act on it. */
  onDigit(leg: LegName, digit: string): void {
    if (leg === 'agent') this.keys?.push(digit);
  }

  /** A digit that came as SIP INFO: it has no place in the audio, so the window reaches back over the hold-back. */
  onInfoDigit(leg: LegName, digit: string, durationMs: number): void {
    this.gate.toneUnplaced(this.now(), durationMs * SAMPLES_PER_MS, 'info', leg);
    this.onDigit(leg, digit);
  }

  /** `lookback: false` starts the window now instead of over the hold-back (a transfer's hand-over). */
  pause(trigger: string, by: string, opts: { readonly lookback?: boolean } = {}, pos = this.now()): boolean {
    const ok = this.gate.pause(pos, trigger, by, opts);
    if (ok) this.call.log.info({ trigger, by }, 'capture paused');
    return ok;
  }

  resume(trigger: string, by: string, pos = this.now()): boolean {
    const ok = this.gate.resume(pos);
    if (ok) this.call.log.info({ trigger, by }, 'capture resumed');
    return ok;
  }

  /**
   * Ends capture of both legs now (what is buffered is written, minus any
   * open window) and closes the segments. Idempotent.
   */
  stop(trigger: string, by: string, pos = this.now()): Promise<void> {
    if (this.closing) return this.closing;
    this.gate.stop(pos);
    this.stopped = { at: this.gate.timeOf(pos), trigger, by };
    this.call.log.info({ trigger, by }, 'capture stopped');
    this.closing = (async () => {
      // What was said just before the stop may still be on its way: wait out the
      // jitter, then end each file exactly at the stop.
      await delay(this.call.deps.jitterMs);
      await this.closeLegs(performance.now(), pos);
    })();
    return this.closing;
  }

  /** The call ended: the legs stop at the end of the call. */
  end(): Promise<void> {
    // A window still open (a pause nobody resumed, a payment leg that hung up) closes with the call.
    if (!this.closing) this.gate.stop(this.now());
    this.closing ??= this.closeLegs(performance.now());
    return this.closing;
  }

  /** Closes the open segments at `pos` (the live position unless given) and opens new ones naming `operator` (a transfer with `split`). */
  split(operator: string | undefined, pos = this.now()): void {
    if (this.closing) return;
    for (const r of this.recordings.values()) r.capture.at(pos, () => r.sink.split(operator));
  }

  /**
   * Records the transfer and applies the line's policy. A transfer to an
   * unrecorded extension always stops. A transfer to a payment target always
   * pauses, whatever the policy (nothing of the payment leg is kept, the
   * buffered second before it included), and the pause lasts until the call
   * leaves the payment target: then it resumes and the line's policy applies
   * to that transfer like any other.
   */
  async transfer(t: { shape: TransferShape; target: string; from?: string; to?: string; forced?: string }): Promise<void> {
    const line: LineConfig = this.call.line;
    const toPayment = t.forced === 'payment-target';
    const fromPayment = this.atPayment && !toPayment;
    let action: TransferRecord['action'];
    if (this.closing) action = 'none';
    else if (toPayment) action = 'pause';
    else if (t.forced !== undefined) action = 'stop';
    else action = line.onTransfer;
    const reason = t.forced ?? (fromPayment ? 'payment-ended' : undefined);
    // One position for all of it: the window a transfer closes ends at the very sample the record names.
    const pos = this.now();
    this.transfers.push({
      at: this.gate.timeOf(pos),
      shape: t.shape,
      target: t.target,
      ...(t.from !== undefined ? { from: t.from } : {}),
      ...(t.to !== undefined ? { to: t.to } : {}),
      action,
      ...(reason !== undefined ? { reason } : {}),
    });
    this.call.log.info({ shape: t.shape, target: t.target, from: t.from, to: t.to, action, reason }, 'transfer');
    if (toPayment) {
      this.atPayment = true;
      // A REFER already paused at its arrival; a transfer the PBX did on its own has not.
      if (this.gate.state === 'recording') this.pause('payment-target', t.from ?? 'agent', {}, pos);
      return;
    }
    if (fromPayment) {
      this.atPayment = false;
      this.resume('payment-ended', t.to ?? 'agent', pos);
    }
    if (action === 'stop') await this.stop(t.forced ?? `transfer-${t.shape}`, t.from ?? 'agent', pos);
    // An INVITE with Replaces splits while the old agent's media is still the
    // only one the agent leg accepts. A stream anchored on a late first packet
    // sits a little ahead of the clock, so the split goes after the audio the
    // old agent already sent; the new agent's stream starts after that audio
    // anyway (LegCapture anchors a new stream after the old one's), so the
    // agent leg's audio is the bound, not the caller's.
    else if (action === 'split') this.split(t.to, t.shape === 'invite-replaces' ? Math.max(pos, this.recordings.get('agent')?.capture.placedUpTo ?? 0) : pos);
  }

  /** True while the call is with a payment target: capture is paused and a REFER must not resume it. */
  get withPaymentTarget(): boolean {
    return this.atPayment;
  }

  /**
   * The caller does not want to be recorded: capture stops now and, when the
   * line says so, every segment already captured is removed from the spool
   * and the store. Resolves with the number of segments discarded.
   */
  async optOutNow(by: string): Promise<number> {
    await this.stop('opt-out', by);
    const { line, deps } = this.call;
    const keys = this.segmentKeys();
    const discard = line.optOut.discard && deps.discard !== undefined;
    this.optOut = { at: this.gate.timeOf(this.now()), by, discarded: discard };
    if (!discard || !deps.discard) return 0;
    const r = await deps.discard(keys);
    this.call.log.warn({ by, segments: keys.length, spool: r.spool, store: r.store, pending: r.pending, refused: r.refused }, 'opt-out: captured audio discarded');
    // What the store refuses to delete (retained under Object Lock) is not discarded, and the manifest says so.
    if (r.refused > 0) this.optOut = { ...this.optOut, retainedByStore: r.refused };
    return keys.length - r.refused;
  }

  pausedWindows(): PausedWindow[] {
    return this.gate.pausedWindows();
  }

  /** Every segment of both legs so far, in leg order. */
  segments(): SegmentRecord[] {
    return [...this.recordings.values()].flatMap((r) => r.sink.segments);
  }

  segmentKeys(): string[] {
    return this.segments().map((s) => s.key);
  }

  private async closeLegs(liveMs: number, endPos?: number): Promise<void> {
    await Promise.all(
      [...this.recordings.values()].map(async (r) => {
        this.call.deps.captureClock.remove(r.capture);
        try {
          await r.capture.stop(liveMs, endPos);
        } catch (err) {
          this.call.log.error({ err, leg: r.leg }, 'segment did not close');
        }
      }),
    );
  }
}
