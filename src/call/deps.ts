import type { LineConfig, RtpConfig } from '../config/types.js';
import type { PortAllocator } from '../media/ports.js';
import type { Pacer } from '../media/player.js';
import type { Logger } from '../ops/log.js';
import type { CaptureClock } from '../recording/clock.js';
import type { SegmentWriter } from '../recording/writer.js';
import type { SipEngine } from '../sip/engine.js';
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
  /** A leg's recording is cut into segments this long, so parts reach the store during the call. */
  readonly segmentSeconds: number;
  readonly ringTimeoutSec: number;
  readonly announcementFor: (line: LineConfig) => AnnouncementSet | undefined;
  readonly log: Logger;
}
