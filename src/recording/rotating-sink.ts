/**
 * Cuts a long leg into segments of a fixed length, so each part reaches the
 * store while the call still runs (and a store outage or crash costs at most
 * the open part). Consecutive segments are contiguous on the call's clock: a
 * segment's start is the previous one's start plus its length.
 */
import type { SegmentInfo, SegmentSink, SegmentWriter } from './writer.js';

export interface SegmentRecord {
  readonly info: SegmentInfo;
  readonly key: string;
  samples: number;
  closedAt?: Date;
  error?: unknown;
}

export class RotatingSink implements SegmentSink {
  readonly segments: SegmentRecord[] = [];
  private current: SegmentSink;
  private readonly closing: Promise<void>[] = [];
  private closed?: Promise<void>;

  constructor(
    private readonly writer: SegmentWriter,
    first: SegmentInfo,
    /** Samples per segment (8000 a second). */
    private readonly segmentSamples: number,
  ) {
    this.current = this.open(first);
  }

  private open(info: SegmentInfo): SegmentSink {
    this.segments.push({ info, key: this.writer.keyOf(info), samples: 0 });
    return this.writer.open(info);
  }

  private closeCurrent(): void {
    const record = this.segments.at(-1);
    const sink = this.current;
    this.closing.push(
      sink.close().then(
        () => {
          if (record) record.closedAt = new Date();
        },
        (err: unknown) => {
          if (record) record.error = err;
        },
      ),
    );
  }

  write(audio: Buffer): void {
    if (this.closed) return;
    let offset = 0;
    while (offset < audio.length) {
      const record = this.segments.at(-1);
      if (!record) return;
      const n = Math.min(audio.length - offset, this.segmentSamples - record.samples);
      this.current.write(offset === 0 && n === audio.length ? audio : audio.subarray(offset, offset + n));
      record.samples += n;
      offset += n;
      if (record.samples === this.segmentSamples) {
        this.closeCurrent();
        const prev = record.info;
        this.current = this.open({ ...prev, segment: prev.segment + 1, startedAt: new Date(prev.startedAt.getTime() + (this.segmentSamples / prev.sampleRate) * 1000) });
      }
    }
  }

  /**
   * Closes the open segment here and opens the next, contiguous with it,
   * tagged with `operator` (the agent after a transfer; undefined when the
   * new side names nobody, never the previous agent).
   */
  split(operator: string | undefined): void {
    if (this.closed) return;
    const record = this.segments.at(-1);
    if (!record) return;
    const { operator: _previous, ...prev } = record.info;
    const next: SegmentInfo = {
      ...prev,
      ...(operator !== undefined ? { operator } : {}),
      segment: prev.segment + 1,
      startedAt: new Date(prev.startedAt.getTime() + (record.samples / prev.sampleRate) * 1000),
    };
    this.closeCurrent();
    this.current = this.open(next);
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closeCurrent();
      await Promise.all(this.closing);
      const failed = this.segments.find((s) => s.error !== undefined);
      if (failed) throw failed.error;
    })();
    return this.closed;
  }
}
