/**
 * A segment writer that keeps audio in memory only, never on disk: for tests,
 * the demo, and `recgw start` until the encrypted spool exists.
 */
import { RecgwError } from '../errors.js';
import { objectKey } from './layout.js';
import type { Manifest } from './manifest.js';
import type { SegmentInfo, SegmentSink, SegmentWriter } from './writer.js';

export interface MemorySegment {
  readonly info: SegmentInfo;
  /** Everything written so far, as one Buffer (a copy). */
  audio(): Buffer;
  readonly closed: boolean;
  /** Bytes written so far, without copying them. */
  readonly length: number;
}

class MemorySink implements SegmentSink, MemorySegment {
  closed = false;
  length = 0;
  private data = Buffer.alloc(8000);

  constructor(readonly info: SegmentInfo) {}

  write(audio: Buffer): void {
    if (this.closed) throw new RecgwError('SEGMENT_CLOSED', `segment ${this.info.callId}/${this.info.leg}/${this.info.segment} is closed`);
    if (this.length + audio.length > this.data.length) {
      // Doubling keeps a long call's appends amortised O(1) instead of a concat per flush.
      const grown = Buffer.alloc(Math.max(this.data.length * 2, this.length + audio.length));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    audio.copy(this.data, this.length);
    this.length += audio.length;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  audio(): Buffer {
    return Buffer.from(this.data.subarray(0, this.length));
  }
}

export class MemorySegmentWriter implements SegmentWriter {
  private readonly held: MemorySink[] = [];
  /** Manifests written, in order (start and final per call). */
  readonly manifests: Manifest[] = [];

  /** Every segment opened and not released, in opening order. */
  get segments(): readonly MemorySegment[] {
    return this.held;
  }

  keyOf(info: SegmentInfo): string {
    return objectKey(info);
  }

  writeManifest(manifest: Manifest): Promise<void> {
    this.manifests.push(manifest);
    return Promise.resolve();
  }

  open(info: SegmentInfo): SegmentSink {
    const sink = new MemorySink(info);
    this.held.push(sink);
    return sink;
  }

  /** Forgets a call's segments, so a long-running process does not keep every call's audio. */
  release(callId: string): void {
    for (let i = this.held.length - 1; i >= 0; i--) if (this.held[i]?.info.callId === callId) this.held.splice(i, 1);
    for (let i = this.manifests.length - 1; i >= 0; i--) if (this.manifests[i]?.callId === callId) this.manifests.splice(i, 1);
  }
}
