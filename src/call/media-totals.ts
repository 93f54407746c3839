/**
 * The gateway's media counters since it started: every leg's RTP counters and
 * every capture's, summed over the calls that ended and the calls still up.
 * Each call's own figures go to its "call ended" line; these are what a
 * monitoring system graphs and alerts on (RTP refused for its source, audio
 * that could not be written).
 */
import type { LegCounters } from '../media/leg.js';
import type { CaptureCounters } from '../recording/capture.js';

export interface MediaTotals {
  /** RTP datagrams received, accepted (latched source, well formed) and relayed to the other leg. */
  rtpReceived: number;
  rtpAccepted: number;
  rtpRelayed: number;
  /** Datagrams, RTP and RTCP, from an address other than the latched peer: dropped. */
  droppedSource: number;
  /** Datagrams, RTP and RTCP, too short or not RTP: dropped. */
  malformed: number;
  /** Audio that arrived too late to be placed in its recording. */
  captureLate: number;
  /** Writes of captured audio that failed: audio lost. */
  captureWriteErrors: number;
  /** Samples written as silence for a pause, a stop or a tone window. */
  redactedSamples: number;
}

export function noMedia(): MediaTotals {
  return { rtpReceived: 0, rtpAccepted: 0, rtpRelayed: 0, droppedSource: 0, malformed: 0, captureLate: 0, captureWriteErrors: 0, redactedSamples: 0 };
}

/** Adds one leg's counters, and its capture's when it was recorded, to `into`. */
export function addLeg(into: MediaTotals, leg: Readonly<LegCounters>, capture: Readonly<CaptureCounters> | undefined): void {
  into.rtpReceived += leg.received;
  into.rtpAccepted += leg.accepted;
  into.rtpRelayed += leg.relayed;
  into.droppedSource += leg.droppedSource;
  into.malformed += leg.malformed;
  if (!capture) return;
  into.captureLate += capture.late;
  into.captureWriteErrors += capture.sinkErrors;
  into.redactedSamples += capture.redactedSamples;
}
