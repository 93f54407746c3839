/** The one log line and event a finished call leaves behind, with its counters. */
import type { LegCounters } from '../media/leg.js';
import type { CaptureCounters } from '../recording/capture.js';
import type { Call } from './call.js';

export type CallEndReason =
  | 'caller-bye'
  | 'agent-bye'
  | 'caller-cancel'
  | 'agent-failed'
  | 'ring-timeout'
  | 'sdp-rejected'
  | 'media-unavailable'
  | 'ack-timeout'
  | 'gateway-shutdown'
  | 'error';

export interface LegSummary extends LegCounters {
  readonly port: number;
  readonly capture?: CaptureCounters;
}

export interface CallSummary {
  readonly callId: string;
  readonly sipCallId: string;
  readonly line: string;
  readonly from: string;
  readonly to: string;
  readonly operator?: string;
  readonly reason: CallEndReason;
  readonly status?: number;
  readonly startedAt: string;
  readonly answeredAt?: string;
  readonly durationMs: number;
  readonly recorded: boolean;
  /** A recorded call's recording: whole, or missing something (a segment not closed, the final manifest not written). */
  readonly recording?: 'complete' | 'incomplete';
  /** Whether the caller heard the announcement, and the second message. */
  readonly announcement?: 'played' | 'played-second' | 'aborted';
  readonly legs: { readonly caller?: LegSummary; readonly agent?: LegSummary };
}

export function summarise(call: Call): CallSummary {
  const legSummary = (name: 'caller' | 'agent'): LegSummary | undefined => {
    const leg = name === 'caller' ? call.callerLeg : call.agentLeg;
    if (!leg) return undefined;
    const capture = call.recordings.get(name)?.capture;
    return { ...leg.counters, port: leg.localPort, ...(capture ? { capture: { ...capture.counters } } : {}) };
  };
  const caller = legSummary('caller');
  const agent = legSummary('agent');
  return {
    callId: call.id,
    sipCallId: call.req.callId,
    line: call.line.name,
    from: call.req.callingNumber,
    to: call.req.calledNumber,
    ...(call.operator !== undefined ? { operator: call.operator } : {}),
    reason: call.endReason ?? 'error',
    ...(call.failStatus !== undefined ? { status: call.failStatus } : {}),
    startedAt: call.startedAt.toISOString(),
    ...(call.answeredAt ? { answeredAt: call.answeredAt.toISOString() } : {}),
    durationMs: Date.now() - call.startedAt.getTime(),
    recorded: call.recordings.size > 0,
    ...(call.recordingOutcome !== undefined ? { recording: call.recordingOutcome } : {}),
    ...(call.announcement !== undefined ? { announcement: call.announcement } : {}),
    legs: { ...(caller ? { caller } : {}), ...(agent ? { agent } : {}) },
  };
}
