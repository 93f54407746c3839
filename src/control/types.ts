/**
 * What the control API sees of the gateway: a view of each active call and the
 * few capture actions an operator or a compliance tool may take on it. The
 * gateway implements `CaptureControl`; the HTTP layer only translates.
 */
import type { AuditShippingView } from '../access/audit-shipper.js';
import type { DrainState, LineCalls } from '../call/gateway.js';
import type { MediaTotals } from '../call/media-totals.js';
import type { Hold } from '../retention/holds.js';
import type { SweepReport } from '../retention/sweep.js';
import type { RetentionView } from '../retention/sweeper.js';
import type { EngineStats } from '../sip/engine.js';
import type { UploaderStats } from '../storage/uploader.js';
import type { HoldBody } from './body.js';

/**
 * `pending`: the call will be recorded once the agent answers (ringing, announcement);
 * `unrecorded`: the call is carried without capture (line policy, recording unavailable, an opt-out).
 */
export type CaptureState = 'pending' | 'recording' | 'paused' | 'stopped' | 'unrecorded';

/** One stretch of a call that was deliberately not captured (card details, an opt-out). */
export interface PausedWindowView {
  start: string;
  /** Absent while the window is still open. */
  end?: string;
  trigger: string;
  by: string;
}

export interface ActiveCallView {
  callId: string;
  line: string;
  direction: 'inbound' | 'outbound';
  callerNumber: string;
  calledNumber: string;
  operator?: string;
  startedAt: string;
  capture: CaptureState;
  pausedWindows: PausedWindowView[];
}

/** Every action throws (or rejects with) a `ControlError` when the call or its capture state forbids it. */
export interface CaptureControl {
  list(): ActiveCallView[];
  get(callId: string): ActiveCallView | undefined;
  pause(callId: string, by: string): ActiveCallView;
  resume(callId: string, by: string): ActiveCallView;
  stop(callId: string, by: string): Promise<ActiveCallView>;
  /** Stops capture; when the line's policy says so, deletes what was captured. */
  optOut(callId: string, by: string): Promise<{ call: ActiveCallView; discarded: number }>;
}

/**
 * Holds and retention sweeps, as the control API offers them to a records
 * officer. Each rejects with a `ControlError` the API answers with.
 */
export interface RetentionControl {
  holds(): Promise<Hold[]>;
  /** Rejects with `recording-not-found` when the store holds nothing of the call. */
  place(callId: string, hold: HoldBody): Promise<{ hold: Hold; objects: number }>;
  /** Rejects with `hold-not-found`. */
  release(callId: string): Promise<Hold>;
  /** Erases a finished call's recordings; rejects with `call-active`, `not-uploaded`, `held`, `recording-not-found` or `store-failed`. */
  erase(callId: string): Promise<{ objects: number; deleted: number }>;
  /** Sweeps now (or joins the sweep under way). */
  sweep(): Promise<SweepReport>;
}

/**
 * GET /health: whether recordings are at risk, and the figures behind it.
 * Always answered with 200 while the gateway runs: a degraded gateway still
 * carries calls, so a load balancer must not take it out of service.
 */
export interface HealthView {
  /** `degraded` while recordings are at risk: the spool is full, or the store is refusing uploads. */
  status: 'ok' | 'degraded';
  /** What makes it degraded, one sentence each; empty when ok. */
  problems: string[];
  calls: { active: number; started: number; ended: number; recordingsIncomplete: number };
  /** Each line's ended calls: recorded whole, recorded with something missing, or not recorded. */
  lines?: Record<string, LineCalls>;
  refused: { notTrunk: number; noLine: number; recordingUnavailable: number; draining: number };
  /** Set while the gateway drains for a restart: new calls are refused, the calls up carry on until the deadline. */
  draining?: DrainState;
  /** Absent when the gateway records into memory only (tests). */
  spool?: {
    usedBytes: number;
    maxBytes: number;
    entries: number;
    full: boolean;
    /** Free space on the spool's disk at the last check. */
    diskFreeBytes?: number;
    /** Free space under `spool.minFreeBytes`: new recordings are refused, the rest is for calls already recording. */
    low: boolean;
    /** Set while the spool cannot write (a full or failing disk): the first error since it last could. */
    writeFault?: { code: string; message: string; since: string };
    /** Segments whose spool entry failed since the start; each lost its audio from that moment. */
    failedEntries: number;
    /** How long the oldest sealed entry has waited for the store; absent when none waits. */
    oldestSealedAgeSeconds?: number;
  };
  uploads?: UploaderStats;
  /** Absent when the gateway has no store (tests). */
  retention?: RetentionView;
  /** SIP messages received, and those malformed: answered 400 or dropped. */
  sip?: EngineStats;
  /** RTP and capture counters since start, all calls together. */
  media?: MediaTotals;
  /** The control API's requests, those refused for their token, and audit records it could not write. */
  control?: { requests: number; unauthorized: number; auditFailures: number };
  /** The audit log's last record, and how far its copy in the store reaches. */
  audit?: AuditShippingView & { lastSeq: number };
}
