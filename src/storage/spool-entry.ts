/**
 * One spool entry: `<id>.json` (its meta, written atomically first), `<id>.seg`
 * (the bytes, appended in order) and, once sealed, `<id>.sealed` (a marker
 * with the final size, written atomically last).
 *
 * Appends never touch the disk on the caller's path: they are copied into a
 * queue, and one writer loop per entry drains the queue with positional
 * writes through fs.promises, batching whatever piled up meanwhile.
 */
import type { FileHandle } from 'node:fs/promises';
import { constants, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { messageOf, RecgwError } from '../errors.js';
import type { Logger } from '../ops/log.js';
import { FILE_MODE, isErrno, syncDir, unlinkIfPresent, writeAll, writeFileAtomic } from './atomic.js';
import { SpoolTail, type TailOptions, type TailSource } from './spool-tail.js';
import { StorageError } from './store.js';

export interface SpoolEntryMeta {
  key: string;
  tags: Record<string, string>;
  /** ISO-8601; becomes the object's retention lock where the store has one. */
  retainUntil?: string;
  callId: string;
  kind: 'audio' | 'manifest';
}

export interface SpoolEntry {
  readonly id: string;
  readonly meta: SpoolEntryMeta;
  /** The `.seg` file. */
  readonly path: string;
  readonly sealed: boolean;
  /** When it was sealed (ms since the epoch; for an entry found at start, its marker's mtime): how long it has waited for the store. */
  readonly sealedAt: number | undefined;
  /** Found at start without a seal (the process died while writing it). */
  readonly recovered: boolean;
  /** Bytes appended so far (queued or on disk). */
  readonly size: number;
  /** Its writer failed: the bytes on disk are all it holds, and it can be neither appended to nor sealed. */
  readonly failed: boolean;
  /** Queued, copied, written in order; counts toward the spool's usedBytes. Throws once seal() or remove() was called. */
  append(bytes: Buffer): void;
  /** All appends flushed and fsynced, then the `.sealed` marker written atomically. Idempotent. */
  seal(): Promise<void>;
  /** The entry's bytes from the start, following the file while it grows; ends after seal(). */
  tail(opts?: TailOptions): Readable;
  /** Cuts the file to `length` bytes (recovery drops a torn tail). */
  truncate(length: number): Promise<void>;
  /** Deletes the entry's files; only the uploader calls this, after the store confirmed. Idempotent. */
  remove(): Promise<void>;
}

/** What an entry reports to its spool, for usedBytes and the list of entries. */
export interface EntryOwner {
  readonly log: Logger;
  resized(delta: number): void;
  /** The seal marker is down: the entry holds its final bytes. */
  sealed(entry: SpoolFile): void;
  removed(entry: SpoolFile): void;
  /** The entry's writer failed (a full or failing disk): its later appends are dropped. */
  failed(entry: SpoolFile, err: unknown): void;
}

export interface EntryFiles {
  readonly seg: string;
  readonly meta: string;
  readonly sealed: string;
}

type Origin = { kind: 'new' } | { kind: 'found'; size: number; sealed: boolean; sealedAt?: number };

export class SpoolFile implements SpoolEntry, TailSource {
  private _sealed: boolean;
  private _sealedAt: number | undefined;
  readonly recovered: boolean;
  /** Bytes on disk, readable by tails. */
  written: number;
  /** Bytes accepted by append (written + queued). */
  private appended: number;
  private queue: Buffer[] = [];
  private flushing: Promise<void> | null = null;
  private fh: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;
  private readonly ready: Promise<void>;
  private sealing: Promise<void> | null = null;
  private removing: Promise<void> | null = null;
  failure: StorageError | null = null;
  private dropped = 0;
  private readonly wakers = new Set<() => void>();

  constructor(
    readonly id: string,
    readonly meta: SpoolEntryMeta,
    private readonly files: EntryFiles,
    private readonly owner: EntryOwner,
    origin: Origin,
  ) {
    if (origin.kind === 'new') {
      this._sealed = false;
      this.recovered = false;
      this.written = 0;
      this.ready = this.createFiles();
      this.ready.catch((err: unknown) => this.fail('creating the entry files', err));
    } else {
      this._sealed = origin.sealed;
      this._sealedAt = origin.sealedAt;
      this.recovered = !origin.sealed;
      this.written = origin.size;
      this.ready = Promise.resolve();
    }
    this.appended = this.written;
  }

  get path(): string {
    return this.files.seg;
  }

  get sealed(): boolean {
    return this._sealed;
  }

  get sealedAt(): number | undefined {
    return this._sealedAt;
  }

  get size(): number {
    return this.appended;
  }

  get failed(): boolean {
    return this.failure !== null && !this.removing;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  onChange(wake: () => void): () => void {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  }

  private changed(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const wake of wakers) wake();
  }

  append(bytes: Buffer): void {
    if (this.sealing || this.removing) {
      throw new RecgwError('SPOOL_ENTRY_CLOSED', `spool entry ${this.id} is ${this.removing ? 'removed' : 'sealed'}; append refused`);
    }
    if (bytes.length === 0) return;
    if (this.failure) {
      // The failure was logged once; the entry is lost anyway, so the caller's path stays quiet.
      this.dropped += bytes.length;
      return;
    }
    this.queue.push(Buffer.from(bytes));
    this.appended += bytes.length;
    this.owner.resized(bytes.length);
    this.flushing ??= this.flushQueue();
  }

  private async createFiles(): Promise<void> {
    // The meta goes down before the segment file exists: a `.seg` without a `.json` is never a live entry.
    await writeFileAtomic(this.files.meta, JSON.stringify(this.meta));
    this.fh = await open(this.files.seg, 'wx', FILE_MODE);
  }

  private async handle(): Promise<FileHandle> {
    await this.ready;
    if (this.fh) return this.fh;
    // A found entry, or one whose file was closed: reopened (or recreated if its `.seg` never got written).
    this.opening ??= open(this.files.seg, constants.O_RDWR | constants.O_CREAT, FILE_MODE).then((fh) => {
      this.fh = fh;
      this.opening = null;
      return fh;
    });
    return this.opening;
  }

  private async flushQueue(): Promise<void> {
    try {
      const fh = await this.handle();
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue;
        this.queue = [];
        const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch);
        await writeAll(fh, buf, this.written);
        this.written += buf.length;
        this.changed();
      }
    } catch (err) {
      this.fail('writing', err);
    } finally {
      this.flushing = null;
    }
  }

  /** Waits until every queued append is on disk (not fsynced). */
  async flushed(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private fail(what: string, err: unknown): void {
    if (this.failure) return;
    const code = isErrno(err, 'ENOSPC', 'EDQUOT') ? 'SPOOL_FULL' : 'SPOOL_CORRUPT';
    const detail = messageOf(err);
    this.failure = err instanceof StorageError ? err : new StorageError(code, `spool entry ${this.id}: ${what}: ${detail}`, { cause: err });
    // Queued, or in the write that failed: what never reached the disk no longer counts toward the spool's size.
    const lost = this.appended - this.written;
    this.queue = [];
    this.dropped += lost;
    this.appended = this.written;
    this.owner.resized(-lost);
    this.owner.log.error({ err, entry: this.id, key: this.meta.key }, 'spool entry failed; further appends are dropped');
    this.owner.failed(this, err);
    this.changed();
  }

  seal(): Promise<void> {
    this.sealing ??= this.sealNow();
    return this.sealing;
  }

  private async sealNow(): Promise<void> {
    if (this.removing) throw new StorageError('SPOOL_CORRUPT', `spool entry ${this.id} was removed before it was sealed`);
    await this.flushed();
    if (this.failure) throw this.failure;
    if (this._sealed) return;
    try {
      const fh = await this.handle();
      await fh.sync();
      await this.closeFile();
      await writeFileAtomic(this.files.sealed, JSON.stringify({ size: this.written, dropped: this.dropped }));
      this._sealedAt = Date.now();
    } catch (err) {
      this.fail('sealing', err);
      throw this.failure ?? err;
    }
    this._sealed = true;
    this.changed();
    this.owner.sealed(this);
  }

  tail(opts?: TailOptions): Readable {
    return new SpoolTail(this, opts);
  }

  async truncate(length: number): Promise<void> {
    await this.flushed();
    if (!Number.isInteger(length) || length < 0 || length > this.written) {
      throw new RangeError(`spool entry ${this.id}: cannot truncate ${this.written} bytes to ${length}`);
    }
    const fh = await this.handle();
    await fh.truncate(length);
    await fh.sync();
    const delta = length - this.written;
    this.written = length;
    this.appended = length;
    this.owner.resized(delta);
    this.changed();
  }

  remove(): Promise<void> {
    // A failed remove (an I/O error) may be tried again: the uploader does, on its next attempt.
    this.removing ??= this.removeNow().catch((err: unknown) => {
      this.removing = null;
      throw err;
    });
    return this.removing;
  }

  private async removeNow(): Promise<void> {
    this.queue = [];
    await this.flushed();
    await this.closeFile();
    // The meta goes first: once it is gone the entry no longer exists for a restarting spool,
    // which deletes whatever files of it a crash left behind.
    await unlinkIfPresent(this.files.meta);
    await unlinkIfPresent(this.files.sealed);
    await unlinkIfPresent(this.files.seg);
    await syncDir(dirname(this.files.seg));
    this.failure ??= new StorageError('SPOOL_CORRUPT', `spool entry ${this.id} was removed`);
    this.owner.removed(this);
    this.changed();
  }

  /** Closes the writer's file handle (the spool's close(), and seal). */
  async closeFile(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.flushed();
    await this.opening?.catch(() => undefined);
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}
