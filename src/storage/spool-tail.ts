/**
 * A Readable that follows a spool entry's file while it grows, like `tail -f`,
 * and ends once the entry is sealed and every byte has been read. This is how
 * the uploader streams a segment to the store while the call still runs.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { StorageError } from './store.js';

/** What a tail needs to know about the entry it follows. */
export interface TailSource {
  readonly id: string;
  readonly path: string;
  /** Bytes in the file that a reader may read (written by the entry's writer). */
  readonly written: number;
  readonly sealed: boolean;
  /** Set when the entry's writer failed or the entry was removed: the tail errors with it. */
  readonly failure: StorageError | null;
  /** Resolves once the file exists on disk. */
  whenReady(): Promise<void>;
  /** Calls `wake` once, at the next write, seal, truncate, failure or removal. Returns an unsubscribe. */
  onChange(wake: () => void): () => void;
}

const CHUNK = 64 * 1024;

export interface TailOptions {
  /**
   * Read only once this many bytes are waiting, or the entry is sealed.
   * Every read of a live entry costs a file read and a pass through the
   * reader's stream; a leg's segment grows by a 4 KB chunk every half second,
   * so the uploader reads them some at a time. Default 1: every write.
   */
  readonly minBytes?: number;
}

export class SpoolTail extends Readable {
  private fh: FileHandle | null = null;
  private pos = 0;
  private reading = false;
  private unsubscribe: (() => void) | null = null;
  private readonly minBytes: number;

  constructor(
    private readonly source: TailSource,
    opts: TailOptions = {},
  ) {
    super();
    this.minBytes = Math.max(1, Math.min(opts.minBytes ?? 1, CHUNK));
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    this.step()
      .catch((err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.reading = false;
      });
  }

  /** Pushes one chunk, or ends, or waits for the entry to change and tries again. */
  private async step(): Promise<void> {
    for (;;) {
      if (this.destroyed) return;
      const src = this.source;
      if (src.failure) throw src.failure;
      if (this.pos > src.written) {
        throw new StorageError('SPOOL_CORRUPT', `spool entry ${src.id} was truncated below what a reader had already read`);
      }
      if (this.pos < src.written && (src.written - this.pos >= this.minBytes || src.sealed)) {
        const fh = await this.handle();
        const want = Math.min(CHUNK, src.written - this.pos);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, this.pos);
        if (bytesRead === 0) throw new StorageError('SPOOL_CORRUPT', `spool entry ${src.id} is shorter on disk than written`);
        if (this.destroyed) return;
        this.pos += bytesRead;
        this.push(buf.subarray(0, bytesRead));
        return;
      }
      if (src.sealed) {
        this.push(null);
        return;
      }
      await new Promise<void>((wake) => {
        this.unsubscribe = src.onChange(wake);
      });
      this.unsubscribe = null;
    }
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    await this.source.whenReady();
    this.fh = await open(this.source.path, 'r');
    if (this.destroyed) {
      await this.fh.close();
      this.fh = null;
      throw new StorageError('SPOOL_CORRUPT', 'tail destroyed while opening');
    }
    return this.fh;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const fh = this.fh;
    this.fh = null;
    if (!fh) {
      callback(err);
      return;
    }
    fh.close().then(
      () => callback(err),
      () => callback(err),
    );
  }
}
