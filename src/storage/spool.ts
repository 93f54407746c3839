/**
 * The durable spool: every recording object is written here first (already
 * encrypted: the spool stores the opaque bytes it is given, nothing else) and
 * stays until the uploader has the store's confirmation.
 *
 * Entries are files in one directory, named by an id that sorts in creation
 * order, so after a crash the oldest audio is uploaded first. See
 * spool-entry.ts for the files of one entry and the order they are written in.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RecgwError } from '../errors.js';
import { TypedEmitter } from '../ops/emitter.js';
import { silentLogger, type Logger } from '../ops/log.js';
import { DIR_MODE, isErrno, unlinkIfPresent } from './atomic.js';
import { SpoolFile, type EntryFiles, type EntryOwner, type SpoolEntry, type SpoolEntryMeta } from './spool-entry.js';

export type { SpoolEntry, SpoolEntryMeta } from './spool-entry.js';

export interface SpoolOptions {
  readonly dir: string;
  /** Past this, `full` is true: the caller decides (refuse new recordings, alarm); appends still succeed. */
  readonly maxBytes: number;
  readonly logger?: Logger;
}

export interface SpoolEvents {
  /** A new entry was created; the uploader starts streaming it at once. */
  entry: (e: SpoolEntry) => void;
  /** An entry was sealed: it holds its final bytes, and a plain upload of it can start. */
  sealed: (e: SpoolEntry) => void;
}

const ID = /^[0-9a-z]{9}-[0-9a-f]{12}$/;

function isMeta(v: unknown): v is SpoolEntryMeta {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m['key'] === 'string' &&
    typeof m['callId'] === 'string' &&
    (m['kind'] === 'audio' || m['kind'] === 'manifest') &&
    typeof m['tags'] === 'object' &&
    m['tags'] !== null &&
    (m['retainUntil'] === undefined || typeof m['retainUntil'] === 'string')
  );
}

/** Files that share the spool's directory, as durable as its entries, but are no entries. */
export const DISCARD_PENDING_FILE = 'discard-pending.json';
const SIDE_FILES = new Set([DISCARD_PENDING_FILE]);

export class Spool extends TypedEmitter<SpoolEvents> {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly log: Logger;
  private readonly live = new Map<string, SpoolFile>();
  private used = 0;
  private lastStamp = 0;
  private state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  private readonly owner: EntryOwner;

  constructor(opts: SpoolOptions) {
    super();
    this.dir = resolve(opts.dir);
    this.maxBytes = opts.maxBytes;
    this.log = opts.logger ?? silentLogger();
    this.owner = {
      log: this.log,
      resized: (delta) => {
        this.used += delta;
      },
      sealed: (entry) => this.safeEmit('sealed', entry),
      removed: (entry) => {
        if (this.live.delete(entry.id)) this.used -= entry.size;
      },
    };
  }

  get usedBytes(): number {
    return this.used;
  }

  get full(): boolean {
    return this.used >= this.maxBytes;
  }

  /** Live entries (not yet removed), oldest first. */
  entries(): readonly SpoolEntry[] {
    return [...this.live.values()];
  }

  private filesOf(id: string): EntryFiles {
    return { seg: join(this.dir, `${id}.seg`), meta: join(this.dir, `${id}.json`), sealed: join(this.dir, `${id}.sealed`) };
  }

  /**
   * Creates the directory (0700) and takes in what a previous run left: sealed
   * entries as they are, unsealed ones as `recovered` (the process died while
   * writing them), and deletes the debris of an interrupted remove or write.
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new RecgwError('SPOOL_STATE', `spool ${this.dir} is already ${this.state}`);
    this.state = 'opening';
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    const names = (await readdir(this.dir)).sort();
    const ids = new Map<string, Set<string>>();
    let debris = 0;
    for (const name of names) {
      const dot = name.indexOf('.');
      const id = dot > 0 ? name.slice(0, dot) : '';
      const ext = dot > 0 ? name.slice(dot + 1) : '';
      if (SIDE_FILES.has(name)) continue;
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        // A temp file of an atomic write that never got renamed.
        await unlinkIfPresent(join(this.dir, name));
        debris++;
      } else if (ID.test(id) && (ext === 'json' || ext === 'seg' || ext === 'sealed')) {
        let exts = ids.get(id);
        if (!exts) ids.set(id, (exts = new Set()));
        exts.add(ext);
      } else {
        this.log.warn({ file: name }, 'unknown file in the spool directory; left alone');
      }
    }
    let recovered = 0;
    for (const [id, exts] of ids) {
      const files = this.filesOf(id);
      if (!exts.has('json')) {
        // Only a remove deletes the meta before the rest, so this entry was already in the store.
        await unlinkIfPresent(files.sealed);
        await unlinkIfPresent(files.seg);
        debris++;
        continue;
      }
      const entry = await this.load(id, files, exts.has('sealed'));
      if (!entry) continue;
      this.live.set(id, entry);
      this.used += entry.size;
      this.lastStamp = Math.max(this.lastStamp, parseInt(id.slice(0, 9), 36));
      if (entry.recovered) recovered++;
    }
    this.state = 'open';
    this.log.info({ dir: this.dir, entries: this.live.size, recovered, debris, usedBytes: this.used }, 'spool open');
  }

  private async load(id: string, files: EntryFiles, sealed: boolean): Promise<SpoolFile | null> {
    let meta: unknown;
    try {
      meta = JSON.parse(await readFile(files.meta, 'utf8'));
    } catch (err) {
      this.log.error({ err, entry: id }, 'unreadable spool entry meta; entry left alone');
      return null;
    }
    if (!isMeta(meta)) {
      this.log.error({ entry: id }, 'spool entry meta has the wrong shape; entry left alone');
      return null;
    }
    let size = 0;
    try {
      size = (await stat(files.seg)).size;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (sealed) {
      const marker = await readFile(files.sealed, 'utf8').then(
        (s) => JSON.parse(s) as { size?: unknown },
        () => null,
      );
      if (marker?.size !== size) {
        this.log.error({ entry: id, key: meta.key, onDisk: size, sealedAt: marker?.size }, 'sealed spool entry changed size on disk');
      }
    }
    return new SpoolFile(id, meta, files, this.owner, { kind: 'found', size, sealed });
  }

  /** A new entry. Its files appear in the background; appends may start at once. */
  create(meta: SpoolEntryMeta): SpoolEntry {
    if (this.state !== 'open') throw new RecgwError('SPOOL_STATE', `spool ${this.dir} is ${this.state}, not open`);
    // Strictly increasing even within one millisecond, so ids sort in creation order.
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    const id = `${this.lastStamp.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
    const frozen: SpoolEntryMeta = Object.freeze({ ...meta, tags: Object.freeze({ ...meta.tags }) });
    const entry = new SpoolFile(id, frozen, this.filesOf(id), this.owner, { kind: 'new' });
    this.live.set(id, entry);
    this.safeEmit('entry', entry);
    return entry;
  }

  /**
   * Flushes every entry's queued appends and closes its files, without sealing:
   * an unsealed entry is recovered by the next open(). Idempotent.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.all([...this.live.values()].map((e) => e.closeFile()));
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.log.error({ err, event }, 'spool listener threw');
  }
}
