/**
 * Wires one media leg to a capture: the leg's tap hands every accepted packet
 * (after latching, so nothing injected reaches a recording) to a LegCapture
 * that keeps it on the call's clock and writes it to a segment.
 */
import { performance } from 'node:perf_hooks';
import type { MediaLeg } from '../media/leg.js';
import { LegCapture } from '../recording/capture.js';
import { RotatingSink } from '../recording/rotating-sink.js';
import type { SegmentInfo } from '../recording/writer.js';
import type { AudioCodec } from '../sip/sdp.js';
import type { Call } from './call.js';

export interface LegRecording {
  readonly leg: 'caller' | 'agent';
  readonly capture: LegCapture;
  /** The leg's segments so far: one per `recording.segmentSeconds` of call. */
  readonly sink: RotatingSink;
}

export function startLegCapture(
  call: Call,
  leg: MediaLeg,
  opts: { readonly codec: AudioCodec; readonly t0: number; readonly startedAt: Date },
): LegRecording {
  const codec = opts.codec.name === 'PCMU' ? 'PCMU' : 'PCMA';
  const info: SegmentInfo = {
    callId: call.id,
    leg: leg.name,
    segment: 1,
    codec,
    sampleRate: 8000,
    startedAt: opts.startedAt,
    line: call.line.name,
    ...(call.operator !== undefined ? { operator: call.operator } : {}),
    direction: 'inbound',
  };
  const sink = new RotatingSink(call.deps.writer, info, call.deps.segmentSeconds * info.sampleRate);
  const capture = new LegCapture({
    sink,
    codec,
    payloadType: opts.codec.payloadType,
    t0: opts.t0,
    jitterMs: call.deps.jitterMs,
    onSinkError: (err) => call.log.error({ err, leg: leg.name }, 'recording write failed'),
  });
  call.deps.captureClock.add(capture);
  leg.tap = (packet, view) => {
    capture.onPacket(packet, view.payloadOffset, view.payloadLength, view.payloadType, view.timestamp, view.ssrc, performance.now());
  };
  return { leg: leg.name, capture, sink };
}
