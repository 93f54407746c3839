/**
 * Discarding a call's recordings (an opt-out): the uploader forgets them and
 * the spool drops them, then every object is deleted from the store. A store
 * that is down does not make the discard fail or the recording survive: the
 * deletes are retried with backoff until they succeed, and counted meanwhile.
 * The keys still owed are kept in a file beside the spool, so a restart (or a
 * crash) picks the deletes up again instead of leaving the audio stored.
 */
import { readFile } from 'node:fs/promises';
import { silentLogger, type Logger } from '../ops/log.js';
import { isErrno, writeFileAtomic } from './atomic.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { StorageError, type ObjectStore } from './store.js';
import type { Uploader } from './uploader.js';

export interface DiscardResult {
  /** Spool entries removed before they were uploaded (or while they were). */
  readonly spool: number;
  /** Objects deleted from the store now. */
  readonly store: number;
  /** Objects whose delete failed and is being retried in the background. */
  readonly pending: number;
  /**
   * Objects the store refuses to delete for good (Object Lock retention in
   * compliance mode): they stay until their retention ends, and the log says so.
   */
  readonly refused: number;
}

export interface DiscardOptions {
  readonly uploader: Uploader;
  readonly store: ObjectStore;
  readonly logger?: Logger;
  readonly backoff?: BackoffOptions;
  /** Where the deletes still owed are kept across restarts; in memory only when absent. */
  readonly pendingFile?: string;
}

export class Discarder {
  private readonly log: Logger;
  private readonly backoff: BackoffOptions;
  private readonly retrying = new Set<string>();

  constructor(private readonly opts: DiscardOptions) {
    this.log = opts.logger ?? silentLogger();
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  /** Deletes still owed to a store that was down. */
  get pending(): number {
    return this.retrying.size;
  }

  private saving: Promise<void> = Promise.resolve();

  /** Takes up the deletes a previous run still owed. */
  async start(): Promise<number> {
    const file = this.opts.pendingFile;
    if (file === undefined) return 0;
    let keys: unknown;
    try {
      keys = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 0;
      // A torn file must not lose the keys silently: say so loudly, and start a new list.
      this.log.error({ err, file }, 'discard: the list of deletes still owed cannot be read');
      return 0;
    }
    const owed = Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
    for (const key of owed) this.retry(key, 1);
    if (owed.length > 0) this.log.warn({ keys: owed.length }, 'discard: deleting what a previous run still owed');
    return owed.length;
  }

  /** Writes the keys still owed, one write after another so the file always holds the latest list. */
  private persist(): Promise<void> {
    const file = this.opts.pendingFile;
    if (file === undefined) return Promise.resolve();
    this.saving = this.saving
      .then(() => writeFileAtomic(file, JSON.stringify([...this.retrying])))
      .catch((err: unknown) => this.log.error({ err, file }, 'discard: the list of deletes still owed was not saved'));
    return this.saving;
  }

  async discard(keys: readonly string[]): Promise<DiscardResult> {
    let spool = 0;
    try {
      spool = await this.opts.uploader.forget(keys);
    } catch (err) {
      // An entry the spool could not drop is no reason to leave what the store holds: go on deleting.
      this.log.error({ err, keys: keys.length }, 'discard: spool entries not all removed');
    }
    let store = 0;
    let pending = 0;
    let refused = 0;
    for (const key of new Set(keys)) {
      // A key already owed to the store (a second opt-out request) keeps its one retry loop.
      if (this.retrying.has(key)) {
        pending++;
        continue;
      }
      const outcome = await this.tryDelete(key);
      if (outcome === 'deleted') store++;
      else if (outcome === 'refused') refused++;
      else {
        pending++;
        this.retry(key, 1);
      }
    }
    if (pending > 0) await this.persist();
    return { spool, store, pending, refused };
  }

  private async tryDelete(key: string): Promise<'deleted' | 'failed' | 'refused'> {
    try {
      await this.opts.store.delete(key);
      return 'deleted';
    } catch (err) {
      if (err instanceof StorageError && err.code === 'STORE_REJECTED') {
        // Retrying cannot help (a retained object, a policy that forbids deletes): say so once, loudly.
        this.log.error({ err, key }, 'discard: the store refuses to delete this object (Object Lock retention?); it stays until its retention ends');
        return 'refused';
      }
      this.log.warn({ err, key }, 'discard: delete failed; retrying');
      return 'failed';
    }
  }

  private retry(key: string, attempt: number): void {
    this.retrying.add(key);
    const timer = setTimeout(() => {
      void this.tryDelete(key).then((outcome) => {
        if (outcome === 'failed') return this.retry(key, attempt + 1);
        this.retrying.delete(key);
        void this.persist();
        if (outcome === 'deleted') this.log.info({ key, attempts: attempt + 1 }, 'discard: delete succeeded after retrying');
      });
    }, backoffDelay(attempt, this.backoff));
    timer.unref();
  }
}
