/**
 * Wires one media leg to a capture: the leg's tap hands every accepted packet
 * (after latching, so nothing injected reaches a recording) to a LegCapture
 * that keeps it on the call's clock and writes it to a segment. The same tap
 * reads the leg's RFC 4733 digits for the agent's key sequences.
 */
import { DtmfReceiver } from '../media/dtmf.js';
import type { MediaLeg } from '../media/leg.js';
import { LegCapture, type ToneDetector, type ToneEvents } from '../recording/capture.js';
import type { CaptureGate } from '../recording/gate.js';
import { RotatingSink } from '../recording/rotating-sink.js';
import type { SegmentInfo } from '../recording/writer.js';
import type { AudioCodec } from '../sip/sdp.js';
import type { Call } from './call.js';

export interface LegRecording {
  readonly leg: 'caller' | 'agent';
  readonly capture: LegCapture;
  /** The leg's segments so far: one per `recording.segmentSeconds` of call, and one more per split. */
  readonly sink: RotatingSink;
}

export interface LegCaptureOptions {
  readonly codec: AudioCodec;
  readonly t0: number;
  readonly startedAt: Date;
  readonly gate: CaptureGate;
  readonly telephoneEventPayloadType?: number;
  readonly toneDetector?: (events: ToneEvents) => ToneDetector;
  /** Each digit the leg sends, RFC 4733 or in-band. */
  readonly onDigit: (digit: string) => void;
}

export function startLegCapture(call: Call, leg: MediaLeg, opts: LegCaptureOptions): LegRecording {
  const codec = opts.codec.name === 'PCMU' ? 'PCMU' : 'PCMA';
  const info: SegmentInfo = {
    callId: call.id,
    leg: leg.name,
    segment: 1,
    codec,
    sampleRate: 8000,
    startedAt: opts.startedAt,
    callStartedAt: opts.startedAt,
    line: call.line.name,
    ...(call.operator !== undefined ? { operator: call.operator } : {}),
    direction: call.direction,
  };
  const sink = new RotatingSink(call.deps.writer, info, call.deps.segmentSeconds * info.sampleRate);
  const capture = new LegCapture({
    sink,
    codec,
    payloadType: opts.codec.payloadType,
    t0: opts.t0,
    jitterMs: call.deps.jitterMs,
    lookbackMs: call.deps.lookbackMs,
    gate: opts.gate,
    leg: leg.name,
    ...(opts.telephoneEventPayloadType !== undefined ? { telephoneEventPayloadType: opts.telephoneEventPayloadType } : {}),
    ...(opts.toneDetector ? { toneDetector: opts.toneDetector } : {}),
    onInbandDigit: opts.onDigit,
    onSinkError: (err) => call.log.error({ err, leg: leg.name }, 'recording write failed'),
  });
  call.deps.captureClock.add(capture);
  const tePt = opts.telephoneEventPayloadType;
  const dtmf = new DtmfReceiver();
  leg.tap = (packet, view, arrivalMs) => {
    capture.queue(packet, view.payloadOffset, view.payloadLength, view.payloadType, view.timestamp, view.ssrc, arrivalMs);
    if (view.payloadType === tePt) {
      const digit = dtmf.onPacket(view, packet);
      if (digit !== null) opts.onDigit(digit);
    }
  };
  return { leg: leg.name, capture, sink };
}
