/**
 * The segment-writer port: capture hands each leg's audio, already aligned to
 * the call's clock, to a sink per leg per segment. The encrypted file format
 * and the stores implement it; tests use the in-memory writer below.
 */
import type { Manifest } from './manifest.js';

export type LegName = 'caller' | 'agent';
export type Codec = 'PCMU' | 'PCMA';

export interface SegmentInfo {
  readonly callId: string;
  readonly leg: LegName;
  /** 1-based; a transfer or a stop/start opens the next one. */
  readonly segment: number;
  readonly codec: Codec;
  readonly sampleRate: 8000;
  /** Wall-clock time of the segment's first sample. */
  readonly startedAt: Date;
  /**
   * When the call's capture started. Every object of the call is filed under
   * this day (recording/layout.ts), so the segments of a call that runs past
   * midnight stay in the one folder with its manifest.
   */
  readonly callStartedAt: Date;
  readonly line: string;
  readonly operator?: string;
  readonly direction: 'inbound' | 'outbound';
}

export interface SegmentSink {
  /** G.711 bytes, one per sample, contiguous with the previous write. The sink must copy what it keeps. */
  write(audio: Buffer): void;
  /** Flushes and seals; idempotent. */
  close(): Promise<void>;
  /** True once the sink can keep nothing more (its spool entry failed): what it is given is lost. */
  readonly failed?: boolean;
}

export interface SegmentWriter {
  /** Where a segment will be stored (its object key), for the manifest. */
  keyOf(info: SegmentInfo): string;
  open(info: SegmentInfo): SegmentSink;
  /** False while a segment opened now would fail too (the spool cannot write). Absent: always. */
  writable?(): boolean;
  /** Seals and stores the call's manifest (at capture start, and again at the end). */
  writeManifest(manifest: Manifest): Promise<void>;
}
