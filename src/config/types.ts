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
  /**
   * sip:host[:port][;params] where outbound calls through this trunk are sent,
   * the dialled number as the user part; absent when the trunk only brings calls in.
   */
  readonly target?: string;
}

/**
 * An agent-side system (PBX/ACD) allowed to place outbound calls through the
 * gateway and to hand calls over with INVITE-with-Replaces. Its addresses are
 * never trunk addresses, so the source of an INVITE says which way it goes.
 */
export interface PbxConfig {
  readonly name: string;
  readonly addresses: readonly string[];
  /** The trunk its outbound calls leave by; that trunk has a `target`. */
  readonly trunk: string;
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

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/**
 * When a `record: schedule` line records, in the wall-clock time of one zone,
 * so a window stays 08:00–20:00 local on the days the clocks change.
 */
export interface ScheduleWindow {
  /** IANA zone, as Intl spells it (`Europe/London`). */
  readonly timeZone: string;
  /** First local date (YYYY-MM-DD) the window applies; open-ended when absent. */
  readonly from?: string;
  /** Last local date, inclusive; open-ended when absent. */
  readonly until?: string;
  /** Days the window starts on; every day when absent. */
  readonly days?: readonly Weekday[];
  /** Local HH:MM the window opens (00:00 when the file leaves it out). */
  readonly start: string;
  /**
   * Local HH:MM it closes, exclusive (24:00 when left out). Earlier than
   * `start`: the window runs past midnight and belongs to the day it starts.
   */
  readonly end: string;
}

export type RecordMode = 'always' | 'never' | 'schedule';

export interface LineConfig {
  /** Dialled number (user part of the request URI), or the digits a range of them starts with. */
  readonly number: string;
  /** exact: `number` is one dialled number; prefix: every number starting with it (an exact line wins, then the longest prefix). */
  readonly match: 'exact' | 'prefix';
  readonly name: string;
  /** SIP URI of the agent queue; `;transport=tcp` selects TCP. */
  readonly target: string;
  /** Nominated for recording (recordMode is not never): the line announces, and may record. */
  readonly record: boolean;
  /** always, never, or only inside `schedule`: the router decides per call. */
  readonly recordMode: RecordMode;
  /** The windows of a `schedule` line; empty otherwise. */
  readonly schedule: readonly ScheduleWindow[];
  /** stop: nothing is recorded after the call leaves this line's queue; split: what follows is recorded separately. */
  readonly onTransfer: 'stop' | 'split';
  /** Numbers or sip: URIs where card details are taken (a payment IVR): capture pauses while the call is there. */
  readonly paymentTargets: readonly string[];
  /** Numbers or sip: URIs whose calls are never recorded (a union rep, a doctor). */
  readonly unrecordedExtensions: readonly string[];
  /** Agent extensions whose outbound calls are recorded under this line. */
  readonly extensions: readonly string[];
  /** Silence DTMF (RFC 4733 and in-band) in what is stored: digits pressed are often card numbers. */
  readonly redactDtmf: boolean;
  /** Quiet time (ms) after a digit before the digits count as finished, so a slowly typed card number is cut as one. */
  readonly dtmfQuietMs: number;
  /** Keys an agent presses to pause capture (e.g. `*7`). */
  readonly pauseKeys?: string;
  /** Keys to resume it (e.g. `*8`). */
  readonly resumeKeys?: string;
  /** The caller may refuse recording with `key` during the announcement; `discard` deletes what was captured so far. */
  readonly optOut: { readonly key?: string; readonly discard: boolean };
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
  /** When its disk has less than this free, lines apply their onRecordingFailure policy: the rest is for calls already recording. */
  readonly minFreeBytes: number;
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
  /** How far capture runs behind the live call (ms), so a pause can still cut audio already buffered. */
  readonly lookbackMs: number;
}

/**
 * What a client of the control API may do. `operator`: the calls (list,
 * pause, resume, stop, opt-out) and the live log; `records`: holds and
 * retention sweeps; `monitor`: nothing but reading. All three read /health
 * and /metrics. The main token is `admin`: all of it.
 */
export type ControlRole = 'operator' | 'records' | 'monitor';

/** A bearer token given in the config, or kept in a file the gateway makes when missing. */
export type TokenSource = { readonly token: string; readonly tokenFile?: never } | { readonly tokenFile: string; readonly token?: never };

/** A named client of the control API with one role; its name goes to the audit log with each action. */
export type ControlClient = { readonly name: string; readonly role: ControlRole } & TokenSource;

interface ControlBase {
  /** Off: no control API, no token file. */
  readonly enabled: boolean;
  /** Address the HTTP control API binds to: loopback unless operators reach it from elsewhere. */
  readonly listen: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Tokens for one role each, beside the main (admin) token. */
  readonly clients: readonly ControlClient[];
}

/**
 * The HTTP control API (pause, resume, stop, opt-out). Exactly one of
 * `token` and `tokenFile` is set: without a token in the file, one is kept in
 * `tokenFile`, made by the gateway when missing.
 */
export type ControlConfig = ControlBase & TokenSource;

export interface AuditConfig {
  /** Append-only record of control and opt-out actions: who paused what, and when. */
  readonly file: string;
}

export interface RetentionConfig {
  /** When expired recordings are deleted from the store: a cron expression, or false (never: S3 lifecycle rules do it). */
  readonly sweep: string | false;
  /** The IANA zone the expression is read in; absent: the host's. */
  readonly timeZone?: string;
}

export interface ShutdownConfig {
  /**
   * On the first SIGTERM or SIGINT the gateway refuses new calls (503) and
   * waits this long for the calls up to end by themselves, then ends the rest;
   * 0 ends them at once. A second signal ends them at once too.
   */
  readonly drainSeconds: number;
}

export interface GatewayConfig {
  readonly sip: SipConfig;
  readonly rtp: RtpConfig;
  readonly trunks: readonly TrunkConfig[];
  readonly pbxs: readonly PbxConfig[];
  readonly lines: readonly LineConfig[];
  readonly storage: StorageConfig;
  readonly spool: SpoolConfig;
  readonly encryption: EncryptionConfig;
  readonly recording: RecordingConfig;
  readonly log: LogConfig;
  readonly control: ControlConfig;
  readonly audit: AuditConfig;
  readonly retention: RetentionConfig;
  readonly shutdown: ShutdownConfig;
}
