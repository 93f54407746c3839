/** Builds the call's manifest from what the call knows; the segment writer seals and stores it. */
import type { Manifest } from '../recording/manifest.js';
import type { Call } from './call.js';

/** Who and what a call is, as the manifest and the control API both name it. */
export function identityOf(call: Call): Pick<Manifest, 'callId' | 'line' | 'direction' | 'callerNumber' | 'calledNumber' | 'operator'> {
  return {
    callId: call.id,
    line: call.line.name,
    direction: call.direction,
    callerNumber: call.req.callingNumber,
    calledNumber: call.req.calledNumber,
    ...(call.operator !== undefined ? { operator: call.operator } : {}),
  };
}

export function manifestOf(call: Call, stage: 'start' | 'final'): Manifest {
  const records = call.capture?.segments() ?? [];
  const discarded = call.capture?.optOut?.discarded === true;
  const segments = records.map((r) => ({
    leg: r.info.leg,
    segment: r.info.segment,
    key: r.key,
    codec: r.info.codec,
    startedAt: r.info.startedAt.toISOString(),
    ...(r.info.operator !== undefined ? { operator: r.info.operator } : {}),
    ...(r.closedAt ? { endedAt: r.closedAt.toISOString(), samples: r.samples } : {}),
    complete: r.closedAt !== undefined,
    ...(r.error !== undefined ? { failure: r.error instanceof Error ? r.error.message : 'the segment could not be closed' } : {}),
    ...(discarded ? { discarded: true as const } : {}),
  }));
  // The day the objects are filed under (recording/layout.ts): the manifests go beside the segments.
  const startedAt = records[0]?.info.callStartedAt ?? call.startedAt;
  return {
    version: 1,
    stage,
    ...identityOf(call),
    startedAt: startedAt.toISOString(),
    ...(stage === 'final' ? { endedAt: new Date().toISOString(), ...(call.endReason ? { endReason: call.endReason } : {}) } : {}),
    retentionDays: call.line.retentionDays,
    segments,
    pausedWindows: call.capture?.pausedWindows() ?? [],
    ...(call.capture && call.capture.transfers.length > 0 ? { transfers: call.capture.transfers } : {}),
    ...(call.capture?.stopped ? { stopped: call.capture.stopped } : {}),
    ...(call.capture?.optOut ? { optOut: call.capture.optOut } : {}),
    complete: stage === 'final' && segments.every((s) => s.complete),
  };
}
