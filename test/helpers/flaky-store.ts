/**
 * A real FsStore behind switches, for the uploader and discard tests: while
 * `down` is set, puts are refused and a put already streaming breaks at its
 * next chunk (an outage mid-call); `corrupt` makes it keep something else
 * than it was sent; deletes can fail for a while (`failDeletes`) or for good
 * (`rejectDeletes`, as under Object Lock retention).
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import type { FsStore } from '../../src/storage/fs.js';
import { StorageError, type ListedObject, type ObjectInfo, type ObjectStore, type PutOptions, type StoredObject } from '../../src/storage/store.js';

export class FlakyStore implements ObjectStore {
  readonly kind = 'fs' as const;
  down = false;
  /** Flips a bit in every chunk: a store that keeps something else than it was sent. */
  corrupt = false;
  /** Refuse this many deletes (the store is down for them), then take them. */
  failDeletes = 0;
  /** Refuse every delete for good. */
  rejectDeletes = false;
  /** Take this many deletes, then refuse every other for good (a store that starts refusing midway). */
  deletesLeft = Infinity;
  /** Every put asked for, by key, in order. */
  readonly putKeys: string[] = [];
  deleteAttempts = 0;

  constructor(readonly inner: FsStore) {}

  get location(): string {
    return this.inner.location;
  }

  get puts(): number {
    return this.putKeys.length;
  }

  put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<StoredObject> {
    this.putKeys.push(key);
    if (this.down) return Promise.reject(new StorageError('STORE_UNAVAILABLE', 'store is down'));
    if (Buffer.isBuffer(body)) return this.inner.put(key, body, opts);
    const line = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        if (this.down) return cb(new StorageError('STORE_UNAVAILABLE', 'connection lost'));
        if (!this.corrupt) return cb(null, chunk);
        const bad = Buffer.from(chunk);
        bad[0] = (bad[0] ?? 0) ^ 1;
        cb(null, bad);
      },
    });
    return this.inner.put(key, pipeline(body, line, () => undefined), opts);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }

  get(key: string): Promise<Readable> {
    return this.inner.get(key);
  }

  list(prefix: string): AsyncIterable<ListedObject> {
    return this.inner.list(prefix);
  }

  folders(prefix: string): Promise<string[]> {
    return this.inner.folders(prefix);
  }

  delete(key: string): Promise<void> {
    this.deleteAttempts++;
    if (this.rejectDeletes || this.deletesLeft-- <= 0) return Promise.reject(new StorageError('STORE_REJECTED', 'AccessDenied: object is retained'));
    if (this.failDeletes > 0) {
      this.failDeletes--;
      return Promise.reject(new StorageError('STORE_UNAVAILABLE', 'store is down'));
    }
    return this.inner.delete(key);
  }
}
