/**
 * Moves spool entries to the object store, and deletes each from the spool
 * only once the store confirmed the size and SHA-256 of exactly what the
 * spool holds.
 *
 * A new entry starts uploading at once as a tail of its file, so the object
 * completes right after the segment is sealed. When an upload fails (the
 * store is down, even mid-call), the entry waits a full-jitter backoff and
 * starts over from the first byte: as a plain file upload if it is sealed by
 * then, as a new tail if the call still runs. Nothing is ever resumed midway,
 * so no store needs to support partial objects.
 *
 * A tail may hold its upload for as long as a call lasts, so tails and
 * sealed entries have upload slots of their own: however many calls are
 * streaming, a sealed entry (a finished segment, a crash leftover, the backlog
 * of an outage) never waits behind them. A live entry that finds every tail
 * slot taken waits, and is uploaded whole once it is sealed.
 *
 * A slow or dead store never reaches the caller's append: the spool just
 * grows, and `spool.full` says when that becomes a problem.
 */
import { pipeline, type Readable } from 'node:stream';
import { TypedEmitter } from '../ops/emitter.js';
import { silentLogger, type Logger } from '../ops/log.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { digestFile, DigestStream, type Digest } from './digest.js';
import type { Spool, SpoolEntry } from './spool.js';
import { StorageError, type ObjectStore, type StoredObject } from './store.js';
import { messageOf } from '../errors.js';

/**
 * A live entry is read 32 KiB at a time (about 4 s of one leg, eight sealed
 * chunks), not at every chunk: each read costs a file read, a pass through the
 * digest and the store's stream, and a write to the store, several times what
 * appending the chunk cost. The store gains nothing from smaller steps: fs
 * writes the object under a temporary name until it is whole, S3 sends 5 MiB
 * parts. A sealed entry is read to its end at once.
 */
const LIVE_READ_BYTES = 32 * 1024;

export interface UploaderOptions {
  spool: Spool;
  store: ObjectStore;
  logger?: Logger;
  /** Default 500 ms .. 60 s, full jitter. */
  backoff?: BackoffOptions;
  /**
   * Called for each recovered (unsealed) entry before its upload; may truncate
   * it (a torn tail). The uploader seals the entry afterwards.
   */
  recover?: (entry: SpoolEntry) => Promise<void>;
  /** Uploads of sealed entries at once. Default 4. */
  concurrency?: number;
  /** Live entries streamed at once, as tails of their growing files; beside `concurrency`. Default: as `concurrency`. */
  liveConcurrency?: number;
  /** How much of a live entry waits before it is read and sent on. Default 32 KiB; at most 64 KiB. */
  liveReadBytes?: number;
}

export interface UploaderEvents {
  uploaded: (e: { key: string; size: number; sha256: string; attempts: number }) => void;
  failed: (e: { key: string; attempt: number; error: StorageError; retryInMs: number }) => void;
}

export interface UploaderStats {
  readonly uploaded: number;
  /** Failed attempts, all entries together. */
  readonly failures: number;
  /** Entries waiting out a backoff. */
  readonly retrying: number;
  /** Sealed entries waiting for an upload slot: the backlog. Above 0 for long, the store takes uploads slower than calls make them. */
  readonly queued: number;
  /** Live entries with no tail slot: each goes up whole once it is sealed. Normal with more calls than tail slots. */
  readonly waitingLive: number;
  /** Entries being uploaded now, tails included. */
  readonly uploading: number;
  /** Of those, live entries being streamed as they grow. */
  readonly streaming: number;
  readonly bytesUploaded: number;
  /** Failed attempts since the store last took an upload: above 0, the store is failing now. */
  readonly failuresSinceSuccess: number;
  /** The latest failed attempt, while the store is failing (failuresSinceSuccess above 0): what the on-call engineer reads first. */
  readonly lastFailure?: { readonly code: string; readonly message: string; readonly at: string };
}

interface Job {
  readonly entry: SpoolEntry;
  attempts: number;
  /** Consecutive failures: the backoff grows with these. */
  failures: number;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  warned: boolean;
}

function asStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const detail = messageOf(err);
  return new StorageError('STORE_UNAVAILABLE', detail, { cause: err });
}

export class Uploader extends TypedEmitter<UploaderEvents> {
  private readonly spool: Spool;
  private readonly store: ObjectStore;
  private readonly log: Logger;
  private readonly backoff: BackoffOptions;
  private readonly recover: ((entry: SpoolEntry) => Promise<void>) | undefined;
  private readonly concurrency: number;
  private readonly liveConcurrency: number;
  /** Attempts under way that started as tails of live entries; the rest of inFlight are sealed uploads. */
  private streaming = 0;

  private running = false;
  private readonly jobs = new Map<string, Job>();
  private queue: Job[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly drainChecks = new Set<() => void>();
  private uploaded = 0;
  private failures = 0;
  private bytesUploaded = 0;
  /** Failed attempts since the last success: non-zero means the store is (or was) down. */
  private failuresSinceSuccess = 0;
  private lastFailure: UploaderStats['lastFailure'];
  // A new entry, or one whose writer failed, taken back once the spool could write again (recovered, like a crash's leftover).
  private readonly onEntry = (entry: SpoolEntry): void => void this.take(entry);
  /** A queued live entry that is sealed now may take a sealed entry's slot. */
  private readonly onSealed = (): void => this.pump();
  /** Keys whose recordings were discarded (an opt-out): never uploaded again, whatever the spool holds. */
  private readonly forgotten = new Set<string>();
  private readonly liveReadBytes: number;

  constructor(opts: UploaderOptions) {
    super();
    this.spool = opts.spool;
    this.store = opts.store;
    this.log = opts.logger ?? silentLogger();
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.recover = opts.recover;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
    this.liveConcurrency = Math.max(1, Math.floor(opts.liveConcurrency ?? this.concurrency));
    this.liveReadBytes = opts.liveReadBytes ?? LIVE_READ_BYTES;
  }

  get stats(): UploaderStats {
    let retrying = 0;
    for (const job of this.jobs.values()) if (job.timer) retrying++;
    let waitingLive = 0;
    for (const job of this.queue) if (!job.entry.sealed) waitingLive++;
    return {
      uploaded: this.uploaded,
      failures: this.failures,
      retrying,
      queued: this.queue.length - waitingLive,
      waitingLive,
      uploading: this.inFlight.size,
      streaming: this.streaming,
      bytesUploaded: this.bytesUploaded,
      failuresSinceSuccess: this.failuresSinceSuccess,
      ...(this.lastFailure && this.failuresSinceSuccess > 0 ? { lastFailure: this.lastFailure } : {}),
    };
  }

  /**
   * Recovers the spool's crash leftovers (the `recover` hook, then a seal),
   * queues everything the spool holds, oldest first, and from then on follows
   * new entries. The spool must be open.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.spool.on('entry', this.onEntry);
    this.spool.on('sealed', this.onSealed);
    const found = this.spool.entries();
    this.log.info({ store: this.store.location, entries: found.length }, 'uploader started');
    for (const entry of found) {
      if (!this.running) return;
      if (this.jobs.has(entry.id)) continue;
      await this.take(entry);
    }
  }

  /** Queues an entry for upload; one a crash (or its failed writer) left unsealed is finished first. */
  private async take(entry: SpoolEntry): Promise<void> {
    if (entry.recovered && !entry.sealed && !(await this.finishRecovered(entry))) return;
    this.track(entry);
  }

  /** Returns false when the entry is not to be uploaded (empty, or could not be sealed). */
  private async finishRecovered(entry: SpoolEntry): Promise<boolean> {
    const log = this.log.child({ entry: entry.id, key: entry.meta.key });
    const before = entry.size;
    if (this.recover) {
      try {
        await this.recover(entry);
      } catch (err) {
        // Uploading the bytes as found keeps them; a reader detects a torn tail, a lost file nobody can.
        log.error({ err }, 'recovery hook failed; uploading the entry as found');
      }
    }
    try {
      if (entry.size === 0) {
        log.warn({ bytesFound: before }, 'recovered spool entry holds nothing worth keeping; removed');
        await entry.remove();
        this.checkDrained();
        return false;
      }
      await entry.seal();
    } catch (err) {
      log.error({ err }, 'could not finalise a recovered spool entry; left in the spool');
      return false;
    }
    log.warn({ bytesFound: before, bytesKept: entry.size }, 'recovered a spool entry left by a crash');
    return true;
  }

  private track(entry: SpoolEntry): void {
    const stale = this.jobs.get(entry.id);
    // The failed instance of an entry the spool has taken back: its job is over.
    if (stale && stale.entry !== entry && stale.entry.failed) this.drop(stale);
    if (!this.running || this.jobs.has(entry.id)) return;
    if (this.forgotten.has(entry.meta.key)) {
      void entry.remove().catch(() => undefined);
      return;
    }
    const job: Job = { entry, attempts: 0, failures: 0, timer: null, abort: null, warned: false };
    this.jobs.set(entry.id, job);
    this.queue.push(job);
    this.pump();
  }

  /** Starts what the free slots allow, oldest first within each kind: sealed entries on theirs, tails on theirs. */
  private pump(): void {
    while (this.running && this.queue.length > 0) {
      const sealedUploads = this.inFlight.size - this.streaming;
      let at = sealedUploads < this.concurrency ? this.queue.findIndex((j) => j.entry.sealed) : -1;
      if (at < 0 && this.streaming < this.liveConcurrency) at = this.queue.findIndex((j) => !j.entry.sealed);
      if (at < 0) return;
      const [job] = this.queue.splice(at, 1);
      if (!job) return;
      // A tail keeps its slot until its attempt ends, even once its entry is sealed meanwhile.
      const live = !job.entry.sealed;
      if (live) this.streaming++;
      const run: Promise<void> = this.attempt(job).finally(() => {
        this.inFlight.delete(run);
        if (live) this.streaming--;
        // Checked here, not in attempt(), so stats are settled when drain() resolves.
        this.checkDrained();
        this.pump();
      });
      this.inFlight.add(run);
    }
  }

  private async attempt(job: Job): Promise<void> {
    const { entry } = job;
    job.attempts++;
    const abort = new AbortController();
    job.abort = abort;
    // A sealed entry is hashed first, so the store can check the object before committing it.
    const sealedAtStart = entry.sealed;
    let expected: Digest | null = null;
    let source: Readable | null = null;
    let counted: DigestStream | null = null;
    try {
      if (sealedAtStart) expected = await digestFile(entry.path);
      source = entry.tail({ minBytes: this.liveReadBytes });
      counted = new DigestStream();
      const body = pipeline(source, counted, () => undefined);
      const { retainUntil } = entry.meta;
      const stored = await this.store.put(entry.meta.key, body, {
        tags: entry.meta.tags,
        ...(expected ? { size: expected.size, sha256: expected.sha256 } : {}),
        ...(retainUntil ? { retainUntil: new Date(retainUntil) } : {}),
        signal: abort.signal,
      });
      this.confirm(entry, stored, counted.digest(), expected);
      await entry.remove();
    } catch (err) {
      source?.destroy();
      counted?.destroy();
      if (entry.failed) {
        // The spool's disk failed, not the store: no retry. The spool hands the entry back once it can write again.
        if (this.jobs.get(entry.id) === job) {
          this.drop(job);
          this.log.warn({ key: entry.meta.key, entry: entry.id }, 'spool entry failed while it was written; uploaded once the spool can write again');
        }
        return;
      }
      if (this.running && this.jobs.get(entry.id) === job) this.failed(job, asStorageError(err));
      return;
    } finally {
      job.abort = null;
    }
    const digest = counted.digest();
    this.jobs.delete(entry.id);
    this.uploaded++;
    this.bytesUploaded += digest.size;
    if (this.failuresSinceSuccess > 0) {
      this.log.warn({ failedAttempts: this.failuresSinceSuccess, store: this.store.location }, 'object store accepts uploads again');
      this.failuresSinceSuccess = 0;
    }
    this.safeEmit('uploaded', { key: entry.meta.key, size: digest.size, sha256: digest.sha256, attempts: job.attempts });
  }

  /** The store's word against what was streamed, and that against what the spool holds. */
  private confirm(entry: SpoolEntry, stored: StoredObject, streamed: Digest, expected: Digest | null): void {
    const key = entry.meta.key;
    if (!entry.sealed) throw new StorageError('VERIFY_FAILED', `${key}: the upload ended before the spool entry was sealed`);
    if (streamed.size !== entry.size) {
      throw new StorageError('VERIFY_FAILED', `${key}: streamed ${streamed.size} bytes, the spool entry holds ${entry.size}`);
    }
    if (expected && (expected.size !== streamed.size || expected.sha256 !== streamed.sha256)) {
      throw new StorageError('VERIFY_FAILED', `${key}: the spool file changed while it was uploaded`);
    }
    if (stored.size !== streamed.size || stored.sha256.toLowerCase() !== streamed.sha256) {
      throw new StorageError(
        'VERIFY_FAILED',
        `${key}: the store holds ${stored.size} bytes sha256 ${stored.sha256}, streamed ${streamed.size} bytes sha256 ${streamed.sha256}`,
      );
    }
  }

  private drop(job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
    job.abort?.abort(new StorageError('SPOOL_CORRUPT', 'spool entry failed'));
    this.queue = this.queue.filter((j) => j !== job);
    this.jobs.delete(job.entry.id);
  }

  private failed(job: Job, error: StorageError): void {
    const { entry } = job;
    job.failures++;
    this.failures++;
    this.failuresSinceSuccess++;
    this.lastFailure = { code: error.code, message: error.message, at: new Date().toISOString() };
    const retryInMs = backoffDelay(job.failures, this.backoff);
    if (!job.warned) {
      job.warned = true;
      // One line per entry; later retries are only counted (stats, 'failed' events).
      this.log.warn({ err: error, key: entry.meta.key, entry: entry.id, sealed: entry.sealed }, 'upload failed; the spool keeps the entry and retries');
    }
    job.timer = setTimeout(() => {
      job.timer = null;
      if (!this.running) return;
      this.queue.push(job);
      this.pump();
    }, retryInMs);
    // A retry alone must not keep a finished process alive; the gateway's sockets do that.
    job.timer.unref();
    this.safeEmit('failed', { key: entry.meta.key, attempt: job.attempts, error, retryInMs });
  }

  /**
   * Stops retrying and aborts the uploads under way; every entry not yet
   * confirmed stays in the spool for the next start().
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.spool.off('entry', this.onEntry);
    this.spool.off('sealed', this.onSealed);
    for (const job of this.jobs.values()) {
      if (job.timer) clearTimeout(job.timer);
      job.timer = null;
      job.abort?.abort(new StorageError('STORE_UNAVAILABLE', 'uploader stopped'));
    }
    this.queue = [];
    await Promise.allSettled([...this.inFlight]);
    this.jobs.clear();
    this.checkDrained();
    this.log.info({ left: this.spool.entries().length }, 'uploader stopped');
  }

  /**
   * Stops uploading `keys` for good (an opt-out that discards the call):
   * queued and retrying uploads are dropped, running ones aborted, and their
   * spool entries removed. Resolves, with how many spool entries were
   * removed, once no upload of those keys is under way any more, so that a
   * delete the caller sends next cannot be overtaken by one. Deleting what
   * already reached the store is the caller's part. Uploads of other keys
   * are neither touched nor waited for: a tail of another call may run as
   * long as that call. Rejects with `SPOOL_CORRUPT` when an entry could not
   * be removed; every other entry is removed all the same.
   */
  async forget(keys: Iterable<string>): Promise<number> {
    const wanted = new Set(keys);
    for (const key of wanted) this.forgotten.add(key);
    const running: Job[] = [];
    for (const [id, job] of this.jobs) {
      if (!wanted.has(job.entry.meta.key)) continue;
      this.jobs.delete(id);
      if (job.timer) clearTimeout(job.timer);
      job.timer = null;
      // `abort` is set exactly while an attempt runs; it goes back to null as the attempt settles.
      if (job.abort) running.push(job);
      job.abort?.abort(new StorageError('STORE_REJECTED', 'recording discarded'));
      this.queue = this.queue.filter((j) => j !== job);
    }
    // Removing an entry also fails a tail that is waiting for more of it, so its upload ends now.
    let removed = 0;
    const failures: unknown[] = [];
    for (const entry of this.spool.entries()) {
      if (!wanted.has(entry.meta.key)) continue;
      try {
        await entry.remove();
        removed++;
      } catch (err) {
        failures.push(err);
        this.log.error({ err, key: entry.meta.key, entry: entry.id }, 'discarded recording could not be removed from the spool');
      }
    }
    // checkDrained() runs each time an attempt settles: the hook to learn when ours have.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (running.some((j) => j.abort !== null)) return;
        this.drainChecks.delete(check);
        resolve();
      };
      this.drainChecks.add(check);
      check();
    });
    this.checkDrained();
    if (failures.length > 0) {
      throw new StorageError('SPOOL_CORRUPT', `${failures.length} discarded spool entr${failures.length === 1 ? 'y' : 'ies'} could not be removed`, {
        cause: failures[0],
      });
    }
    return removed;
  }

  /** Resolves true once the spool is empty, false if it still is not after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.spool.entries().length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (empty: boolean): void => {
        clearTimeout(timer);
        this.drainChecks.delete(check);
        resolve(empty);
      };
      const check = (): void => {
        if (this.spool.entries().length === 0) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.drainChecks.add(check);
    });
  }

  private checkDrained(): void {
    for (const check of [...this.drainChecks]) check();
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.log.error({ err, event }, 'uploader listener threw');
  }
}
