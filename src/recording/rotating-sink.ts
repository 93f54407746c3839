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
    // The spool lost this segment's entry (a full or failing disk) and can write again: the rest of the leg goes into a new one.
    if (this.current.failed === true && this.writer.writable?.() !== false) this.reopen();
    let offset = 0;
    while (offset < audio.length) {
      const record = this.segments.at(-1);
      if (!record) return;
      const n = Math.min(audio.length - offset, this.segmentSamples - record.samples);
      this.current.write(offset === 0 && n === audio.length ? audio : audio.subarray(offset, offset + n));
      record.samples += n;
      offset += n;
      if (record.samples === this.segmentSamples) this.next(record.info, record.samples);
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
    this.next({ ...prev, ...(operator !== undefined ? { operator } : {}) }, record.samples);
  }

  /** A new segment from here, with the same tags: the failed one keeps what reached the disk. */
  private reopen(): void {
    const record = this.segments.at(-1);
    if (record) this.next(record.info, record.samples);
  }

  private next(info: SegmentInfo, samplesSoFar: number): void {
    const startedAt = new Date(info.startedAt.getTime() + (samplesSoFar / info.sampleRate) * 1000);
    this.closeCurrent();
    this.current = this.open({ ...info, segment: info.segment + 1, startedAt });
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
