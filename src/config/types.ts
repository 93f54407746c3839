/**
 * The validated, frozen configuration the rest of the code trusts. Only
 * `config/load.ts` builds it; every field here has been checked once at start-up.
 */
import type { Transport } from '../sip/engine.js';

export interface SipConfig {
  /** Address the SIP sockets bind to. */
  readonly listen: string;
  readonly port: number;
  readonly transports: readonly Transport[];
  /** Address written into Via, Contact and SDP: what peers use to reach us. */
  readonly publicAddress: string;
  /** RFC 3261 timers in ms; shortened only by tests. */
  readonly timers: { readonly t1: number; readonly t2: number; readonly t4: number };
  /** How long an unanswered agent leg may ring before the caller gets 408. */
  readonly ringTimeoutSec: number;
}

export interface RtpConfig {
  readonly address: string;
  /** Address written into SDP for our RTP ports; defaults to `address`. */
  readonly publicAddress: string;
  readonly portMin: number;
  readonly portMax: number;
}

export interface TrunkConfig {
  readonly name: string;
  /** Source IP addresses that may send INVITEs. */
  readonly addresses: readonly string[];
}

export type AnnouncementMode = 'early' | 'answer';

export interface AnnouncementConfig {
  /** WAV or MP3 file; the built-in announcement when absent. */
  readonly file?: string;
  /** early: 183 with SDP, played before the agent is called; answer: 200 to the caller first. */
  readonly mode: AnnouncementMode;
  /** Optional second, longer information message, played when the caller presses `key` during the first. */
  readonly secondMessage?: { readonly file: string; readonly key: string };
}

export interface LineConfig {
  /** Dialled number (user part of the request URI). */
  readonly number: string;
  readonly name: string;
  /** SIP URI of the agent queue; `;transport=tcp` selects TCP. */
  readonly target: string;
  readonly record: boolean;
  /** Absent means no announcement (only allowed when record is false). */
  readonly announcement?: AnnouncementConfig;
  /** Days the line's recordings are kept: 14–730; tagged on every object. */
  readonly retentionDays: number;
  /** When recording cannot be guaranteed (spool full): carry the call unrecorded, or refuse it (503). */
  readonly onRecordingFailure: 'continue' | 'reject';
}

export interface FsStorageConfig {
  readonly kind: 'fs';
  readonly dir: string;
}

export interface S3StorageConfig {
  readonly kind: 's3';
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  /** For S3-compatible servers; AWS when absent. Credentials come from the standard AWS chain. */
  readonly endpoint?: string;
  readonly pathStyle: boolean;
  /** Set S3 Object Lock retention on each object (the bucket must have Object Lock enabled). */
  readonly objectLock: boolean;
}

export type StorageConfig = FsStorageConfig | S3StorageConfig;

export interface SpoolConfig {
  /** Encrypted segments wait here until the store confirms them. */
  readonly dir: string;
  /** When the spool holds this much, lines apply their onRecordingFailure policy. */
  readonly maxBytes: number;
}

export interface EncryptionConfig {
  /** PEM public key (X25519 or RSA): the gateway can encrypt but never decrypt. */
  readonly publicKey?: string;
  /** Symmetric key file: simpler, but a stolen gateway could read recordings. */
  readonly keyFile?: string;
  /** With neither set: a key pair kept here, made on first start (move the private key off the gateway). */
  readonly keyDir: string;
}

export interface LogConfig {
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export interface RecordingConfig {
  /** How far capture runs behind the live call, so late and reordered packets still land in place. */
  readonly jitterMs: number;
  /** A leg's recording is cut into segments of this many seconds, each stored as it completes. */
  readonly segmentSeconds: number;
}

export interface GatewayConfig {
  readonly sip: SipConfig;
  readonly rtp: RtpConfig;
  readonly trunks: readonly TrunkConfig[];
  readonly lines: readonly LineConfig[];
  readonly storage: StorageConfig;
  readonly spool: SpoolConfig;
  readonly encryption: EncryptionConfig;
  readonly recording: RecordingConfig;
  readonly log: LogConfig;
}
