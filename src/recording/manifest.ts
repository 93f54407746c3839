/**
 * The manifest of a recorded call: what was recorded, when, of whom, and
 * whether it is whole. It names caller and called numbers, which are personal
 * data, so it is sealed like the audio. One is written when capture starts
 * (so a crash still leaves a record that says the call is incomplete) and the
 * final one when the call ends.
 */
import type { Codec, LegName } from './writer.js';

export interface ManifestSegment {
  readonly leg: LegName;
  readonly segment: number;
  readonly key: string;
  readonly codec: Codec;
  readonly startedAt: string;
  readonly operator?: string;
  /** Filled in the final manifest. */
  readonly endedAt?: string;
  readonly samples?: number;
  /** False until the segment was closed and sealed with its final chunk. */
  readonly complete: boolean;
  /** Why it could not be closed, when the gateway knows (its spool entry failed: a full or failing disk). */
  readonly failure?: string;
  /** Deleted from spool and store after the caller opted out. */
  readonly discarded?: true;
}

export interface PausedWindow {
  readonly start: string;
  readonly end?: string;
  readonly trigger: string;
  readonly by: string;
}

/** A transfer of the call, and what capture did about it. */
export interface ManifestTransfer {
  readonly at: string;
  /** refer, refer-replaces (attended), reinvite / update (a new asserted identity), invite-replaces. */
  readonly shape: string;
  readonly target: string;
  readonly from?: string;
  readonly to?: string;
  readonly action: 'stop' | 'split' | 'pause' | 'none';
  /** Why the line's policy was overridden: payment-target (paused), unrecorded-extension (stopped), payment-ended (resumed). */
  readonly reason?: string;
}

export interface Manifest {
  readonly version: 1;
  readonly stage: 'start' | 'final';
  readonly callId: string;
  readonly line: string;
  readonly direction: 'inbound' | 'outbound';
  readonly callerNumber: string;
  readonly calledNumber: string;
  readonly operator?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly endReason?: string;
  readonly retentionDays: number;
  readonly segments: readonly ManifestSegment[];
  readonly pausedWindows: readonly PausedWindow[];
  readonly transfers?: readonly ManifestTransfer[];
  /** Capture was stopped before the call ended: when, why and by whom. */
  readonly stopped?: { readonly at: string; readonly trigger: string; readonly by: string };
  /** The caller opted out; `discarded` says the audio captured before was deleted. */
  readonly optOut?: { readonly at: string; readonly by: string; readonly discarded: boolean; readonly retainedByStore?: number };
  /** Every segment complete and the call ended normally. */
  readonly complete: boolean;
}
