/**
 * One leg's capture on the call's clock. Each packet's payload is placed at a
 * sample position: sample 0 is the call's `t0`, the first packet is anchored
 * at its arrival time, later packets sit where their RTP timestamps say. The
 * ring buffer between the tap and the sink is prefilled with the codec's
 * silence byte, so whatever never arrives (loss, hold, a late packet) leaves
 * silence of exactly the right length, and two legs with the same `t0` stay
 * sample-aligned however their packets were spread in time.
 */
import { BitFlags } from './bit-flags.js';
import type { Flushable, MonotonicClock } from './clock.js';
import { performanceClock } from './clock.js';
import type { CaptureGate } from './gate.js';
import type { Codec, SegmentSink } from './writer.js';

/** What an in-band tone detector reports, in sample positions on the call's clock. */
export interface ToneEvents {
  onToneStart(digit: string, start: number): void;
  onToneEnd(digit: string, end: number): void;
}

/** An in-band DTMF detector fed with the leg's audio before it is written. */
export interface ToneDetector {
  push(bytes: Uint8Array, offset: number, length: number, pos: number): void;
  flush(pos: number): void;
}

export interface CaptureOptions {
  readonly sink: SegmentSink;
  readonly codec: Codec;
  /** The negotiated G.711 payload type; any other (telephone-event, comfort noise) is not audio. */
  readonly payloadType: number;
  /** The call's clock origin: both legs of one call get the same t0 so they stay aligned. */
  readonly t0: number;
  /** How far the flush runs behind the live call, so late and reordered packets still land. */
  readonly jitterMs: number;
  /** Used when `flush()`/`stop()` are called without a time. */
  readonly clock?: MonotonicClock;
  /** Called once, on the first failed write: audio is being lost and someone must know. */
  readonly onSinkError?: (err: unknown) => void;
  /**
   * Extra hold-back on top of the jitter, so a pause or a detected tone can
   * still cut audio already received: nothing is written until it is this old.
   */
  readonly lookbackMs?: number;
  /** The call's pause, stop and DTMF windows; their samples are written as silence. */
  readonly gate?: CaptureGate;
  /** The leg's name, for the windows the gate records. */
  readonly leg?: string;
  /** RFC 4733 events of this payload type are tones to cut (with the gate). */
  readonly telephoneEventPayloadType?: number;
  /** Makes the in-band detector; its tones go to the gate. */
  readonly toneDetector?: (events: ToneEvents) => ToneDetector;
  /** Each in-band digit found, for key sequences (pause/resume keys). */
  readonly onInbandDigit?: (digit: string) => void;
}

export interface CaptureCounters {
  /** Every packet handed in, audio or not. */
  packets: number;
  /** Audio that arrived behind what was already written out, or already heard by the in-band detector: dropped. */
  late: number;
  /** Audio for samples already filled: ignored. */
  duplicate: number;
  /** Packets of another payload type (telephone-event, comfort noise): left as silence. */
  foreignPayload: number;
  /** Samples handed to the sink, audio and silence. */
  samplesWritten: number;
  /** Of those, samples no packet filled. */
  silenceSamples: number;
  /** Times the stream was placed anew: SSRC change, timestamp jump, or a sender running slow. */
  reanchors: number;
  sinkErrors: number;
  /** Samples written as silence because the gate said so (pause, stop, DTMF). */
  redactedSamples: number;
  /** RFC 4733 events seen (their packets are never stored). */
  toneEvents: number;
  /** In-band tones found. */
  inbandTones: number;
}

const SILENCE: Readonly<Record<Codec, number>> = { PCMU: 0xff, PCMA: 0xd5 };
const SAMPLES_PER_MS = 8;
/** Timestamp- and arrival-derived positions further apart than this mean the sender's clock jumped. */
const REANCHOR_SAMPLES = 8000;
/**
 * Ring room beyond the jitter hold-back: a packet may sit up to a second ahead
 * of its arrival before it re-anchors, plus a flush interval or two, so in a
 * running call nothing is ever forced out early.
 */
const RING_MARGIN_MS = 3000;
/**
 * Packets a leg queues between flushes before it places them at once: five
 * at 20 ms a packet and 100 ms a flush, so this leaves room for 10 ms
 * packets and a late tick, and bounds what a flood can hold.
 */
const QUEUE_PACKETS = 32;
/** Numbers kept per queued packet: payload offset and length, timestamp, SSRC, arrival. */
const QUEUED_FIELDS = 5;

export class LegCapture implements Flushable {
  private readonly count: CaptureCounters = {
    packets: 0,
    late: 0,
    duplicate: 0,
    foreignPayload: 0,
    samplesWritten: 0,
    silenceSamples: 0,
    reanchors: 0,
    sinkErrors: 0,
    redactedSamples: 0,
    toneEvents: 0,
    inbandTones: 0,
  };
  private readonly sink: SegmentSink;
  private readonly payloadType: number;
  private readonly t0: number;
  private readonly jitterMs: number;
  private readonly clock: MonotonicClock;
  private readonly onSinkError: ((err: unknown) => void) | undefined;
  private readonly silence: number;
  /** Sample position p lives at ring[p % size]; the ring holds positions [flushed, flushed + size). */
  private readonly ring: Buffer;
  /** Set where a packet wrote the sample: tells a duplicate from a first arrival, and audio from silence. */
  private readonly filled: BitFlags;
  private readonly size: number;
  /** Everything before this position has gone to the sink. */
  private flushed = 0;
  /** One past the furthest sample any packet wrote. */
  private end = 0;
  private anchored = false;
  private anchorPos = 0;
  private anchorTs = 0;
  private anchorSsrc = 0;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private readonly lookbackMs: number;
  private readonly gate: CaptureGate | undefined;
  private readonly legName: string;
  private readonly eventPayloadType: number;
  private readonly detector: ToneDetector | undefined;
  /** Everything before this position has been through the in-band detector. */
  private detected = 0;
  /** Start of the in-band tone being heard, -1 when none. */
  private toneStart = -1;
  /** Where in the ring the span being written starts, for silenceSpan. */
  private spanRingAt = 0;
  private spanPos = 0;
  /** Audio packets handed to queue() and not placed yet, in arrival order, with their numbers. */
  private readonly queued: (Buffer | undefined)[] = new Array<Buffer | undefined>(QUEUE_PACKETS).fill(undefined);
  private readonly queuedFields = new Float64Array(QUEUE_PACKETS * QUEUED_FIELDS);
  private queueLength = 0;
  /** Actions due when writing reaches a position (a segment split at a transfer), in order. */
  private readonly marks: { pos: number; action: () => void }[] = [];
  /** Bound once: the gate calls it for each window inside a written span, so no closure per flush. */
  private readonly silenceSpan = (a: number, b: number): void => {
    this.ring.fill(this.silence, this.spanRingAt + (a - this.spanPos), this.spanRingAt + (b - this.spanPos));
  };

  constructor(opts: CaptureOptions) {
    if (!(opts.jitterMs >= 0) || !Number.isFinite(opts.t0)) throw new RangeError('LegCapture: jitterMs must be >= 0 and t0 finite');
    this.sink = opts.sink;
    this.payloadType = opts.payloadType;
    this.t0 = opts.t0;
    this.jitterMs = opts.jitterMs;
    this.clock = opts.clock ?? performanceClock;
    this.onSinkError = opts.onSinkError;
    this.silence = SILENCE[opts.codec];
    this.lookbackMs = opts.lookbackMs ?? 0;
    if (!(this.lookbackMs >= 0)) throw new RangeError('LegCapture: lookbackMs must be >= 0');
    this.gate = opts.gate;
    this.legName = opts.leg ?? 'leg';
    this.eventPayloadType = opts.telephoneEventPayloadType ?? -1;
    const onInbandDigit = opts.onInbandDigit;
    this.detector = opts.toneDetector?.({
      onToneStart: (digit, start) => {
        this.count.inbandTones++;
        this.toneStart = start;
        this.gate?.tone(start, this.detected, 'inband', this.legName);
        onInbandDigit?.(digit);
      },
      onToneEnd: (_digit, end) => {
        if (this.toneStart >= 0) this.gate?.tone(this.toneStart, end, 'inband', this.legName);
        this.toneStart = -1;
      },
    });
    this.size = Math.ceil((opts.jitterMs + this.lookbackMs + RING_MARGIN_MS) * SAMPLES_PER_MS);
    this.ring = Buffer.alloc(this.size, this.silence);
    this.filled = new BitFlags(this.size);
  }

  /**
   * Called from the RTP tap for each accepted packet: an audio packet is kept
   * (by reference; the relay changes no packet) and placed at the next flush,
   * so the relay's path does a few stores per packet and the placing runs in
   * one batch per leg. Placing later gives the same result as placing now:
   * nothing that decides where a packet lands moves between two flushes, and
   * everything that reads what was placed (flush, stop, placedUpTo, counters)
   * places the queue first. Any other payload (a telephone event, comfort
   * noise), and a packet that finds the queue full, is handled at once, after
   * the queue, so the gate hears of a tone without waiting for the flush.
   */
  queue(packet: Buffer, payloadOffset: number, payloadLength: number, payloadType: number, timestamp: number, ssrc: number, arrivalMs: number): void {
    if (this.stopped) return;
    const i = this.queueLength;
    if (payloadType !== this.payloadType || i === QUEUE_PACKETS) {
      this.placeQueued();
      this.onPacket(packet, payloadOffset, payloadLength, payloadType, timestamp, ssrc, arrivalMs);
      return;
    }
    this.queued[i] = packet;
    const f = this.queuedFields;
    const o = i * QUEUED_FIELDS;
    f[o] = payloadOffset;
    f[o + 1] = payloadLength;
    f[o + 2] = timestamp;
    f[o + 3] = ssrc;
    f[o + 4] = arrivalMs;
    this.queueLength = i + 1;
  }

  /** Places the queued packets, oldest first, and lets go of them. */
  private placeQueued(): void {
    const n = this.queueLength;
    if (n === 0) return;
    this.queueLength = 0;
    const f = this.queuedFields;
    for (let i = 0; i < n; i++) {
      const packet = this.queued[i] as Buffer;
      this.queued[i] = undefined;
      const o = i * QUEUED_FIELDS;
      this.onPacket(packet, f[o] as number, f[o + 1] as number, this.payloadType, f[o + 2] as number, f[o + 3] as number, f[o + 4] as number);
    }
  }

  /** Places one packet now: copies the payload into the ring, allocates nothing. */
  onPacket(packet: Buffer, payloadOffset: number, payloadLength: number, payloadType: number, timestamp: number, ssrc: number, arrivalMs: number): void {
    if (this.stopped) return;
    const c = this.count;
    c.packets++;
    if (payloadType !== this.payloadType) {
      c.foreignPayload++;
      if (payloadType === this.eventPayloadType) this.onToneEvent(packet, payloadOffset, payloadLength, timestamp, ssrc, arrivalMs);
      return;
    }
    const length = Math.min(payloadLength, packet.length - payloadOffset, this.size);
    if (length <= 0 || payloadOffset < 0) return;

    const arrivalPos = Math.round((arrivalMs - this.t0) * SAMPLES_PER_MS);
    let pos: number;
    if (!this.anchored || ssrc !== this.anchorSsrc) {
      pos = this.anchor(arrivalPos, timestamp, ssrc);
    } else {
      pos = this.anchorPos + ((timestamp - this.anchorTs) | 0);
      if (Math.abs(pos - arrivalPos) > REANCHOR_SAMPLES) pos = this.anchor(arrivalPos, timestamp, ssrc);
    }

    const floor = this.floor();
    if (pos < floor) {
      if (pos < this.end) {
        c.late++;
        return;
      }
      // The newest audio of the stream, yet behind what may still be filled:
      // the sender's clock runs slower than ours (or the network stalled longer
      // than the hold-back). Slip the stream forward instead of losing the rest of the call.
      this.anchorPos += floor - pos;
      pos = floor;
      c.reanchors++;
    }
    // Far ahead of the flush (a clock that stalled, a very long hold-back):
    // write out what is before it rather than lose the packet.
    if (pos + length > this.flushed + this.size) this.writeUpTo(pos + length - this.size);
    if (this.filled.has(pos % this.size)) {
      c.duplicate++;
      return;
    }

    const at = pos % this.size;
    const first = Math.min(length, this.size - at);
    packet.copy(this.ring, at, payloadOffset, payloadOffset + first);
    this.filled.set(at, at + first);
    if (first < length) {
      packet.copy(this.ring, 0, payloadOffset + first, payloadOffset + length);
      this.filled.set(0, length - first);
    }
    if (pos + length > this.end) this.end = pos + length;
  }

  /**
   * Runs the in-band detector over what is settled (older than the jitter
   * hold-back), then writes everything older than jitter plus lookback to the
   * sink, silence where nothing arrived or the gate says so.
   */
  flush(nowMs: number = this.clock.now()): void {
    if (this.stopped) return;
    this.placeQueued();
    const settled = Math.floor((nowMs - this.t0 - this.jitterMs) * SAMPLES_PER_MS);
    this.detectUpTo(settled);
    this.writeUpTo(Math.floor((nowMs - this.t0 - this.jitterMs - this.lookbackMs) * SAMPLES_PER_MS));
  }

  /**
   * Runs `action` when writing reaches `pos` (at once if it already has): the
   * sink sees every sample before `pos` first and none after. A split at a
   * transfer is placed on the call's clock, not at whenever the flush runs.
   */
  at(pos: number, action: () => void): void {
    if (pos <= this.flushed) {
      action();
      return;
    }
    this.marks.push({ pos, action });
    this.marks.sort((a, b) => a.pos - b.pos);
  }

  /** What this capture has seen and done, queued packets included. */
  get counters(): Readonly<CaptureCounters> {
    this.placeQueued();
    return this.count;
  }

  /** One past the furthest sample a packet has filled so far (0 before the first). */
  get placedUpTo(): number {
    this.placeQueued();
    return this.end;
  }

  /** The live position on the call's clock: where a trigger fired now sits. */
  positionAt(nowMs: number): number {
    return Math.floor((nowMs - this.t0) * SAMPLES_PER_MS);
  }

  /**
   * Final flush up to nowMs with no hold-back (and past it, if a packet's
   * audio reaches further: nothing received is dropped), or exactly up to
   * `endPos` when given (a stop placed on the call's clock), then closes the
   * sink. Idempotent: later calls return the same promise.
   */
  stop(nowMs: number = this.clock.now(), endPos?: number): Promise<void> {
    if (this.closing) return this.closing;
    this.placeQueued();
    this.stopped = true;
    const target = endPos ?? Math.max(Math.floor((nowMs - this.t0) * SAMPLES_PER_MS), this.end);
    this.closing = (async () => {
      this.writeUpTo(target);
      this.detector?.flush(target);
      await this.sink.close();
    })();
    return this.closing;
  }

  /**
   * The first position a packet may still fill. With a detector that is what
   * it has not heard yet: audio landing behind it would be written without
   * being checked for card digits, so it is late even while the lookback
   * still holds its place.
   */
  private floor(): number {
    return this.detector !== undefined && this.detected > this.flushed ? this.detected : this.flushed;
  }

  private anchor(arrivalPos: number, timestamp: number, ssrc: number): number {
    // A new stream that arrives while the old one's last packets are still
    // ahead of it starts right after them instead of writing over them.
    const gap = this.end - arrivalPos;
    const pos = Math.max(this.anchored && gap > 0 && gap < REANCHOR_SAMPLES ? this.end : arrivalPos, this.floor());
    if (this.anchored) this.count.reanchors++;
    this.anchored = true;
    this.anchorPos = pos;
    this.anchorTs = timestamp;
    this.anchorSsrc = ssrc;
    return pos;
  }

  /**
   * An RFC 4733 event: the tone it stands for runs from the event's timestamp
   * for its duration. Its packets are never stored; with a gate, the tone's
   * span (and the quiet time after it) is cut from both legs.
   */
  private onToneEvent(packet: Buffer, offset: number, length: number, timestamp: number, ssrc: number, arrivalMs: number): void {
    this.count.toneEvents++;
    if (!this.gate || length < 4 || offset < 0 || offset + 4 > packet.length) return;
    const duration = packet.readUInt16BE(offset + 2);
    const arrivalPos = Math.round((arrivalMs - this.t0) * SAMPLES_PER_MS);
    let start = arrivalPos - duration;
    if (this.anchored && ssrc === this.anchorSsrc) {
      const byTimestamp = this.anchorPos + ((timestamp - this.anchorTs) | 0);
      if (Math.abs(byTimestamp - start) <= REANCHOR_SAMPLES) start = byTimestamp;
    }
    this.gate.tone(start, start + duration, 'rfc4733', this.legName);
  }

  /** Feeds the in-band detector the ring's audio in [detected, target), before any of it is written. */
  private detectUpTo(target: number): void {
    const d = this.detector;
    if (!d) return;
    if (this.detected < this.flushed) this.detected = this.flushed;
    const limit = Math.min(target, this.flushed + this.size);
    while (this.detected < limit) {
      const at = this.detected % this.size;
      const n = Math.min(limit - this.detected, this.size - at);
      d.push(this.ring, at, n, this.detected);
      this.detected += n;
    }
    // A tone still sounding: keep its window open up to what has been heard.
    if (this.toneStart >= 0) this.gate?.tone(this.toneStart, this.detected, 'inband', this.legName);
  }

  /** Hands the sink [flushed, target) in ring-sized views, then refills those bytes with silence. */
  private writeUpTo(target: number): void {
    const c = this.count;
    // Nothing is written before the detector has heard it.
    if (this.detector && this.detected < target) this.detectUpTo(target);
    while (this.flushed < target) {
      const at = this.flushed % this.size;
      const mark = this.marks[0];
      const until = mark && mark.pos > this.flushed ? Math.min(target, mark.pos) : target;
      const n = Math.min(until - this.flushed, this.size - at);
      const audio = this.filled.count(at, at + n);
      if (this.gate) {
        this.spanRingAt = at;
        this.spanPos = this.flushed;
        c.redactedSamples += this.gate.redact(this.flushed, this.flushed + n, this.silenceSpan);
      }
      try {
        // The port says the sink copies what it keeps, so a view into the ring is enough.
        this.sink.write(this.ring.subarray(at, at + n));
      } catch (err) {
        if (c.sinkErrors === 0) this.onSinkError?.(err);
        c.sinkErrors++;
      }
      this.ring.fill(this.silence, at, at + n);
      this.filled.clear(at, at + n);
      this.flushed += n;
      c.samplesWritten += n;
      c.silenceSamples += n - audio;
      this.runMarks();
    }
    this.runMarks();
  }

  private runMarks(): void {
    while (this.marks.length > 0 && (this.marks[0]?.pos ?? Infinity) <= this.flushed) {
      const mark = this.marks.shift();
      try {
        mark?.action();
      } catch (err) {
        this.onSinkError?.(err);
      }
    }
  }
}
