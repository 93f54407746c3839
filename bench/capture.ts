/**
 * What capture costs per leg, without sockets: the same speech packets fed to
 * many legs on a simulated clock, flushed as the CaptureClock does (a fifth
 * of the legs every 20 ms), so the figure is the capture code's alone and
 * barely moves between runs. Packets go in through `queue()`, as the relay's
 * tap hands them over, so the batched placing at the flush is measured too. Beside it, in the same run, the least any
 * capture does: copying each payload into a ring.
 */
import { BUILTIN_ANNOUNCEMENT, BUILTIN_INFORMATION, loadAnnouncement } from '../src/media/announcement.js';
import { InbandDtmfDetector } from '../src/media/inband-dtmf.js';
import { LegCapture } from '../src/recording/capture.js';
import { CaptureGate } from '../src/recording/gate.js';
import { CountingSink } from './counting-sink.js';

export interface CaptureFigures {
  /** `copy`: payloads into a ring, nothing else; `plain`: LegCapture alone; `policy`: with the gate, the 1 s lookback and in-band detection, as a recorded call runs. */
  readonly variant: 'copy' | 'plain' | 'policy';
  /** CPU µs per second of one leg's audio. */
  readonly usPerLegSecond: number;
}

const PAYLOAD = 160;
const HEADER = 12;
const STEP_MS = 20;
/** The CaptureClock's slices: each leg is flushed every fifth step. */
const SLICES = 5;

interface Leg {
  queue(packet: Buffer, offset: number, length: number, pt: number, ts: number, ssrc: number, arrivalMs: number): void;
  flush(nowMs: number): void;
}

/** The floor: each payload copied into a per-leg ring, as the tap must at least do. */
class CopyLeg implements Leg {
  private readonly ring = Buffer.alloc(8000 * 4);
  private at = 0;
  bytes = 0;
  queue(packet: Buffer, offset: number, length: number): void {
    if (this.at + length > this.ring.length) this.at = 0;
    packet.copy(this.ring, this.at, offset, offset + length);
    this.at += length;
  }
  flush(): void {
    this.bytes += this.at;
  }
}

function makeLegs(variant: CaptureFigures['variant'], count: number): { legs: Leg[]; sinks: CountingSink[] } {
  const legs: Leg[] = [];
  const sinks: CountingSink[] = [];
  let gate: CaptureGate | undefined;
  for (let i = 0; i < count; i++) {
    if (variant === 'copy') {
      legs.push(new CopyLeg());
      continue;
    }
    const sink = new CountingSink();
    sinks.push(sink);
    if (variant === 'plain') {
      legs.push(new LegCapture({ sink, codec: 'PCMA', payloadType: 8, t0: 0, jitterMs: 200 }));
      continue;
    }
    // One gate per call: two legs share it.
    if (i % 2 === 0) gate = new CaptureGate({ startedAt: new Date(), holdbackSamples: 1200 * 8, redactDtmf: true, dtmfQuietMs: 3000 });
    legs.push(
      new LegCapture({
        sink,
        codec: 'PCMA',
        payloadType: 8,
        t0: 0,
        jitterMs: 200,
        lookbackMs: 1000,
        ...(gate ? { gate } : {}),
        leg: i % 2 === 0 ? 'caller' : 'agent',
        telephoneEventPayloadType: 101,
        toneDetector: (events) => new InbandDtmfDetector('PCMA', events),
      }),
    );
  }
  return { legs, sinks };
}

/** Feeds `seconds` of speech to every leg; returns CPU µs per leg-second. */
function run(variant: CaptureFigures['variant'], count: number, seconds: number, speech: Buffer): number {
  const { legs } = makeLegs(variant, count);
  const packets: Buffer[] = [];
  for (let at = 0; at + PAYLOAD <= speech.length; at += PAYLOAD) {
    const p = Buffer.alloc(HEADER + PAYLOAD);
    p[0] = 0x80;
    p[1] = 8;
    speech.copy(p, HEADER, at, at + PAYLOAD);
    packets.push(p);
  }
  const steps = Math.round((seconds * 1000) / STEP_MS);
  const start = process.cpuUsage();
  for (let s = 0; s < steps; s++) {
    const now = s * STEP_MS;
    for (let i = 0; i < legs.length; i++) {
      // Each leg starts at its own place in the speech, and arrives up to 2 ms late.
      const packet = packets[(s + i * 7) % packets.length] as Buffer;
      legs[i]?.queue(packet, HEADER, PAYLOAD, 8, (s * PAYLOAD) >>> 0, i, now + (i % 3));
    }
    for (let i = s % SLICES; i < legs.length; i += SLICES) legs[i]?.flush(now);
  }
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / (count * seconds);
}

export async function measureCapture(legs = 500, seconds = 20): Promise<CaptureFigures[]> {
  const speech = Buffer.concat([(await loadAnnouncement(BUILTIN_ANNOUNCEMENT)).pcma, (await loadAnnouncement(BUILTIN_INFORMATION)).pcma]);
  const variants = ['copy', 'plain', 'policy'] as const;
  // A short round of each first, so the engine has compiled all three before any is timed.
  for (const v of variants) run(v, 20, 2, speech);
  return variants.map((variant) => ({ variant, usPerLegSecond: run(variant, legs, seconds, speech) }));
}
