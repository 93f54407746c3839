/**
 * The filesystem object store (the embedded default): one file per object
 * under `dir/<key>`, with its tags, metadata, size and SHA-256 in a sidecar
 * `<key>.meta.json`.
 *
 * An object is written to a hidden temp file beside its final name, fsynced,
 * checked against the expected size/SHA-256, then renamed into place, so a
 * reader never sees a partial object. The sidecar is renamed in *before* the
 * object: whenever an object is visible, its sidecar is too. Delete goes the
 * other way (object first), so a crash in between leaves at worst a sidecar
 * without an object, which every reader ignores.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { silentLogger, type Logger } from '../ops/log.js';
import { DIR_MODE, FILE_MODE, isErrno, syncDir, tempPathFor, unlinkIfPresent, writeAll, writeFileAtomic } from './atomic.js';
import { StorageError, type ListedObject, type ObjectInfo, type ObjectStore, type PutOptions, type StoredObject } from './store.js';
import { messageOf } from '../errors.js';

const SIDECAR = '.meta.json';
/** Leaves room for the sidecar suffix and the temp-file decoration within NAME_MAX (255). */
const MAX_SEGMENT = 200;
const MAX_KEY = 1024;

interface Sidecar {
  tags: Record<string, string>;
  metadata: Record<string, string>;
  size: number;
  sha256: string;
  createdAt: string;
  retainUntil?: string;
}

/**
 * Keys are '/'-separated relative paths. No segment may be empty or start with
 * a dot: that rules out '.' and '..' (escaping `dir`) and keeps keys apart from
 * the hidden temp files. A key may not end like a sidecar either.
 */
export function checkKey(key: string): string[] {
  const reject = (why: string): never => {
    throw new StorageError('STORE_REJECTED', `invalid object key ${JSON.stringify(key.slice(0, 120))}: ${why}`);
  };
  if (key.length === 0) reject('empty');
  if (key.length > MAX_KEY) reject(`longer than ${MAX_KEY} characters`);
  if (key.startsWith('/')) reject('absolute');
  if (/[\\\0]/.test(key)) reject('backslash or NUL');
  if (key.endsWith(SIDECAR)) reject(`ends with ${SIDECAR}`);
  const segments = key.split('/');
  for (const s of segments) {
    if (s.length === 0) reject('empty path segment');
    if (s.startsWith('.')) reject('a path segment starts with a dot');
    if (Buffer.byteLength(s) > MAX_SEGMENT) reject(`a path segment is longer than ${MAX_SEGMENT} bytes`);
  }
  return segments;
}

function unavailable(what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const detail = messageOf(err);
  return new StorageError('STORE_UNAVAILABLE', `${what}: ${detail}`, { cause: err });
}

export class FsStore implements ObjectStore {
  readonly kind = 'fs' as const;
  readonly location: string;
  private readonly root: string;
  private readonly log: Logger;

  constructor(opts: { dir: string; logger?: Logger }) {
    this.root = resolve(opts.dir);
    this.location = this.root;
    this.log = opts.logger ?? silentLogger();
  }

  private pathOf(key: string): string {
    return join(this.root, ...checkKey(key));
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<StoredObject> {
    const file = this.pathOf(key);
    const signal = opts.signal;
    if (signal?.aborted) throw new StorageError('STORE_UNAVAILABLE', `put ${key} aborted`, { cause: signal.reason });
    let tmp: string | null = null;
    let fh: FileHandle | null = null;
    try {
      tmp = tempPathFor(file);
      fh = await this.create(tmp);
      const { size, sha256 } = await this.writeBody(fh, key, body, signal);
      await fh.sync();
      await fh.close();
      fh = null;
      if (opts.size !== undefined && opts.size !== size) {
        throw new StorageError('VERIFY_FAILED', `put ${key}: wrote ${size} bytes, expected ${opts.size}`);
      }
      if (opts.sha256 !== undefined && opts.sha256.toLowerCase() !== sha256) {
        throw new StorageError('VERIFY_FAILED', `put ${key}: SHA-256 ${sha256} differs from the expected ${opts.sha256}`);
      }
      const sidecar: Sidecar = {
        tags: { ...opts.tags },
        metadata: { ...opts.tags, ...(opts.contentType ? { 'content-type': opts.contentType } : {}) },
        size,
        sha256,
        createdAt: new Date().toISOString(),
        ...(opts.retainUntil ? { retainUntil: opts.retainUntil.toISOString() } : {}),
      };
      await writeFileAtomic(file + SIDECAR, JSON.stringify(sidecar));
      await rename(tmp, file);
      tmp = null;
      await syncDir(dirname(file));
      return { key, size, sha256 };
    } catch (err) {
      throw unavailable(`put ${key}`, err);
    } finally {
      if (fh) await fh.close().catch(() => undefined);
      if (tmp) await unlinkIfPresent(tmp).catch((err: unknown) => this.log.warn({ err, key }, 'could not remove a temp file'));
    }
  }

  /**
   * Opens a new temp file, making its folder. A delete that empties a folder
   * removes it, so a delete of the last object there may take the folder away
   * between the mkdir and the open: make it again, once.
   */
  private async create(tmp: string): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dirname(tmp), { recursive: true, mode: DIR_MODE });
      try {
        return await open(tmp, 'wx', FILE_MODE);
      } catch (err) {
        if (attempt > 0 || !isErrno(err, 'ENOENT')) throw err;
      }
    }
  }

  private async writeBody(fh: FileHandle, key: string, body: Readable | Buffer, signal: AbortSignal | undefined): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    if (Buffer.isBuffer(body)) {
      await writeAll(fh, body);
      hash.update(body);
      return { size: body.length, sha256: hash.digest('hex') };
    }
    let size = 0;
    // Destroying the body makes the pending iteration throw, so an abort does not wait for the next chunk.
    const onAbort = (): void => {
      body.destroy(new StorageError('STORE_UNAVAILABLE', `put ${key} aborted`, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // An abort while the file was being opened has already fired: act on it now.
    if (signal?.aborted) onAbort();
    try {
      for await (const chunk of body) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        await writeAll(fh, buf);
        hash.update(buf);
        size += buf.length;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw new StorageError('STORE_UNAVAILABLE', `put ${key} aborted`, { cause: signal.reason });
    return { size, sha256: hash.digest('hex') };
  }

  private async readSidecar(file: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(file + SIDECAR, 'utf8')) as Sidecar;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      if (err instanceof SyntaxError) {
        this.log.error({ file: file + SIDECAR }, 'unreadable sidecar');
        return null;
      }
      throw err;
    }
  }

  /** The sidecar's hash, or one computed from the object when the sidecar is missing or stale. */
  private async shaOf(file: string, size: number, sidecar: Sidecar | null): Promise<string> {
    if (sidecar && sidecar.size === size) return sidecar.sha256;
    const hash = createHash('sha256');
    const fh = await open(file, 'r');
    try {
      for await (const chunk of fh.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    } finally {
      await fh.close();
    }
    return hash.digest('hex');
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(key);
    try {
      const st = await stat(file);
      if (!st.isFile()) return null;
      const sidecar = await this.readSidecar(file);
      return {
        key,
        size: st.size,
        sha256: await this.shaOf(file, st.size, sidecar),
        tags: { ...sidecar?.tags },
        metadata: { ...sidecar?.metadata },
        lastModified: st.mtime,
      };
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
      throw unavailable(`head ${key}`, err);
    }
  }

  async get(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    try {
      // Opened here, not lazily by the stream, so a missing object rejects instead of erroring later.
      const fh = await open(file, 'r');
      return fh.createReadStream();
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw new StorageError('NOT_FOUND', `no object ${key}`, { cause: err });
      throw unavailable(`get ${key}`, err);
    }
  }

  /**
   * Every object whose key starts with `prefix` (a plain string prefix, as in
   * S3, not only a folder), walking sub-folders in name order.
   */
  async *list(prefix: string): AsyncIterable<ListedObject> {
    if (prefix.split('/').some((s) => s === '..' || s === '.')) {
      throw new StorageError('STORE_REJECTED', `invalid list prefix ${JSON.stringify(prefix.slice(0, 120))}`);
    }
    const cut = prefix.lastIndexOf('/');
    const base = cut >= 0 ? prefix.slice(0, cut + 1) : '';
    yield* this.walk(base, prefix);
  }

  private async *walk(keyDir: string, prefix: string): AsyncGenerator<ListedObject> {
    const dir = join(this.root, ...keyDir.split('/').filter((s) => s.length > 0));
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      throw unavailable(`list ${prefix}`, err);
    }
    for (const name of names) {
      if (name.startsWith('.') || name.endsWith(SIDECAR)) continue;
      const key = keyDir + name;
      // A folder is entered when it can still hold keys with the prefix.
      if (!key.startsWith(prefix) && !prefix.startsWith(key + '/')) continue;
      const file = join(dir, name);
      let st;
      try {
        st = await stat(file);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue; // deleted while listing
        throw unavailable(`list ${prefix}`, err);
      }
      if (st.isDirectory()) {
        yield* this.walk(key + '/', prefix);
      } else if (st.isFile() && key.startsWith(prefix)) {
        yield { key, size: st.size };
      }
    }
  }

  async folders(prefix: string): Promise<string[]> {
    if (prefix !== '' && !prefix.endsWith('/')) throw new StorageError('STORE_REJECTED', `a folder listing needs a prefix ending in /: ${JSON.stringify(prefix.slice(0, 120))}`);
    const dir = prefix === '' ? this.root : this.pathOf(prefix.slice(0, -1));
    try {
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return [];
      throw unavailable(`list the folders of ${prefix}`, err);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await unlinkIfPresent(file);
      await unlinkIfPresent(file + SIDECAR);
      await syncDir(dirname(file));
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return;
      throw unavailable(`delete ${key}`, err);
    }
    await this.pruneFrom(dirname(file));
  }

  /**
   * Removes the folders a delete left empty, up to the root: a store swept by
   * retention for years would otherwise keep a folder for every call and day.
   * A folder that is not empty (or cannot be removed) ends the climb.
   */
  private async pruneFrom(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }
}

