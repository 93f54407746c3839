import type { LineConfig, RtpConfig } from '../config/types.js';
import type { PortAllocator } from '../media/ports.js';
import type { Pacer } from '../media/player.js';
import type { Logger } from '../ops/log.js';
import type { CaptureClock } from '../recording/clock.js';
import type { SegmentWriter } from '../recording/writer.js';
import type { SipEngine } from '../sip/engine.js';
import type { DiscardResult } from '../storage/discard.js';
import type { AnnouncementSet } from './announce.js';

/** What every call of a gateway shares. */
export interface CallDeps {
  readonly engine: SipEngine;
  readonly allocator: PortAllocator;
  readonly writer: SegmentWriter;
  readonly captureClock: CaptureClock;
  readonly pacer: Pacer;
  readonly rtp: RtpConfig;
  readonly sipPublicAddress: string;
  readonly jitterMs: number;
  /** Capture runs this far behind the live call (on top of the jitter), so a pause can cut what is buffered. */
  readonly lookbackMs: number;
  /** A leg's recording is cut into segments this long, so parts reach the store during the call. */
  readonly segmentSeconds: number;
  readonly ringTimeoutSec: number;
  readonly announcementFor: (line: LineConfig) => AnnouncementSet | undefined;
  /** Removes recordings from the spool and the store (an opt-out); absent when nothing is stored (tests). */
  readonly discard?: (keys: readonly string[]) => Promise<DiscardResult>;
  readonly log: Logger;
}
