import type { SegmentSink } from '../src/recording/writer.js';

/** Counts bytes and keeps nothing: the benchmarks measure the path, not a store. */
export class CountingSink implements SegmentSink {
  bytes = 0;
  write(audio: Buffer): void {
    this.bytes += audio.length;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
