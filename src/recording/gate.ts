/**
 * What of a call may be stored: one gate per call, shared by both legs, so a
 * pause silences caller and agent alike and the two files stay aligned.
 *
 * Capture writes audio a hold-back behind the live call (jitter plus the
 * lookback). A pause therefore starts, on the call's clock, at the oldest
 * sample not yet written: everything still buffered when the trigger fires —
 * the card digit that fired it included — is cut. A resume ends the window at
 * the live position; audio after it is stored once the hold-back has passed.
 *
 * DTMF never reaches a file either: every tone, wherever it was seen (RFC 4733
 * events, SIP INFO, in-band detection), opens or extends a `dtmf` window that
 * closes only after `dtmfQuietMs` without another digit, so a card number
 * typed without anyone pressing pause is still not stored.
 */
import type { PausedWindow } from './manifest.js';

export type CaptureState = 'recording' | 'paused' | 'stopped';

export interface GateOptions {
  /** Wall-clock time of sample position 0 (the call's t0). */
  readonly startedAt: Date;
  /** Samples between the live call and what has been written: jitter plus lookback. */
  readonly holdbackSamples: number;
  /** Silence DTMF tones and open a window around a run of digits. */
  readonly redactDtmf: boolean;
  /** A DTMF window stays open this long after the last digit ends. */
  readonly dtmfQuietMs: number;
}

interface Window {
  readonly start: number;
  /** Exclusive; Infinity while open. */
  end: number;
  readonly trigger: string;
  readonly by: string;
}

const SAMPLES_PER_MS = 8;
/** Cut this much either side of a tone: detection and event timestamps are only as exact as a packet or block. */
const TONE_MARGIN_SAMPLES = 40 * SAMPLES_PER_MS;

export class CaptureGate {
  private readonly windows: Window[] = [];
  private manual: Window | undefined;
  private dtmf: Window | undefined;
  private stoppedAt: number | undefined;
  private readonly quietSamples: number;

  constructor(private readonly opts: GateOptions) {
    if (!(opts.holdbackSamples >= 0) || !(opts.dtmfQuietMs >= 0)) throw new RangeError('CaptureGate: holdback and quiet time must be >= 0');
    this.quietSamples = Math.round(opts.dtmfQuietMs * SAMPLES_PER_MS);
  }

  get state(): CaptureState {
    if (this.stoppedAt !== undefined) return 'stopped';
    return this.manual ? 'paused' : 'recording';
  }

  /**
   * Opens a window from the oldest unwritten sample (`livePos` minus the
   * hold-back), or from `livePos` itself when `lookback` is false. False when
   * already paused or stopped: nothing changes.
   */
  pause(livePos: number, trigger: string, by: string, opts: { readonly lookback?: boolean } = {}): boolean {
    if (this.manual || this.stoppedAt !== undefined) return false;
    // Without lookback (a transfer's hand-over) the window starts now: what was said before is the call's.
    const start = opts.lookback === false ? livePos : livePos - this.opts.holdbackSamples;
    this.manual = { start: Math.max(0, start), end: Infinity, trigger, by };
    this.windows.push(this.manual);
    return true;
  }

  /** Closes the manual window at the live position. False when not paused. */
  resume(livePos: number): boolean {
    const w = this.manual;
    if (!w || this.stoppedAt !== undefined) return false;
    w.end = Math.max(w.start, livePos);
    this.manual = undefined;
    return true;
  }

  /** Marks the call's capture as stopped at `livePos`; the legs stop writing there. */
  stop(livePos: number): boolean {
    if (this.stoppedAt !== undefined) return false;
    if (this.manual) this.resume(livePos);
    this.stoppedAt = livePos;
    return true;
  }

  /**
   * A DTMF tone covering [start, end) on the call's clock (end may grow while
   * the key is held: call again with the same start). No-op unless the line
   * redacts DTMF.
   */
  tone(start: number, end: number, source: 'rfc4733' | 'inband' | 'info', leg: string): void {
    if (!this.opts.redactDtmf) return;
    const from = Math.max(0, start - TONE_MARGIN_SAMPLES);
    const until = Math.max(end, start) + TONE_MARGIN_SAMPLES + this.quietSamples;
    const open = this.dtmf;
    // A digit within the quiet time of the last one belongs to the same run: one window.
    if (open && from <= open.end) {
      if (until > open.end) open.end = until;
      return;
    }
    this.dtmf = { start: from, end: until, trigger: `dtmf-${source}`, by: leg };
    this.windows.push(this.dtmf);
  }

  /**
   * A tone known only to have happened, not where (a SIP INFO digit): its
   * window reaches back over the whole hold-back, everything not yet written,
   * and forward over its duration.
   */
  toneUnplaced(livePos: number, durationSamples: number, source: 'info', leg: string): void {
    this.tone(livePos - this.opts.holdbackSamples, livePos + durationSamples, source, leg);
  }

  /**
   * Calls `silence(a, b)` for each part of [from, to) inside a window, and
   * returns how many samples that was. Called for every span capture writes,
   * so it must stay cheap: the list holds a handful of windows per call.
   */
  redact(from: number, to: number, silence: (a: number, b: number) => void): number {
    let n = 0;
    // After a stop nothing is kept, even a late packet's audio reaching past it.
    const stopped = this.stoppedAt;
    if (stopped !== undefined && to > stopped) {
      const a = Math.max(from, stopped);
      silence(a, to);
      n += to - a;
      to = a;
    }
    for (const w of this.windows) {
      const a = Math.max(from, w.start);
      const b = Math.min(to, w.end);
      if (a < b) {
        silence(a, b);
        n += b - a;
      }
    }
    return n;
  }

  /**
   * The wall-clock time of a position on the call's clock, as the manifest
   * writes it: every time in one manifest comes from here, so a time always
   * points at the same sample of the file, whatever the wall clock did since.
   */
  timeOf(pos: number): string {
    return new Date(this.opts.startedAt.getTime() + pos / SAMPLES_PER_MS).toISOString();
  }

  /** The windows as the manifest records them, in wall-clock time. */
  pausedWindows(): PausedWindow[] {
    return this.windows.map((w) => ({
      start: this.timeOf(w.start),
      ...(Number.isFinite(w.end) ? { end: this.timeOf(w.end) } : {}),
      trigger: w.trigger,
      by: w.by,
    }));
  }
}
