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
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { messageOf, RecgwError } from '../errors.js';
import { TypedEmitter } from '../ops/emitter.js';
import { silentLogger, type Logger } from '../ops/log.js';
import { DIR_MODE, FILE_MODE, isErrno, tempPathFor, unlinkIfPresent, writeAll } from './atomic.js';
import { SpoolFile, type EntryFiles, type EntryOwner, type SpoolEntry, type SpoolEntryMeta } from './spool-entry.js';

export type { SpoolEntry, SpoolEntryMeta } from './spool-entry.js';

export interface SpoolOptions {
  readonly dir: string;
  /** Past this, `full` is true: the caller decides (refuse new recordings, alarm); appends still succeed. */
  readonly maxBytes: number;
  readonly logger?: Logger;
  /** Below this much free space on its disk, `low` is true (the rest is for entries already being written). Default 0: no reserve. */
  readonly minFreeBytes?: number;
  /** How often the spool checks its disk: the free space, and while it cannot write, a test write. Default 5 s. */
  readonly probeMs?: number;
}

/** Why the spool cannot write: the first failure since it last could. */
export interface SpoolFault {
  /** The system's error code (ENOSPC, EDQUOT, EIO, EROFS, ...). */
  readonly code: string;
  readonly message: string;
  readonly since: Date;
}

/**
 * The write that tells a faulted spool it can write again: room for about two
 * minutes of one leg, fsynced, so a disk with a few kilobytes free does not
 * pass for one that can take calls.
 */
const PROBE_BYTES = 1 << 20;

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
  private readonly probeMs: number;
  private writeFault: SpoolFault | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private entriesFailed = 0;
  private readonly minFreeBytes: number;
  private freeBytes = Number.POSITIVE_INFINITY;
  private diskTimer: NodeJS.Timeout | undefined;
  private diskUnreadable = false;

  constructor(opts: SpoolOptions) {
    super();
    this.dir = resolve(opts.dir);
    this.maxBytes = opts.maxBytes;
    this.log = opts.logger ?? silentLogger();
    this.probeMs = opts.probeMs ?? 5000;
    this.minFreeBytes = opts.minFreeBytes ?? 0;
    this.owner = {
      log: this.log,
      resized: (delta) => {
        this.used += delta;
      },
      sealed: (entry) => this.safeEmit('sealed', entry),
      removed: (entry) => {
        if (this.live.delete(entry.id)) this.used -= entry.size;
      },
      failed: (_entry, err) => {
        this.entriesFailed++;
        this.faulted(err);
      },
    };
  }

  /**
   * Set while the spool cannot write (a full or failing disk, whatever its
   * configured limit says): recordings started now would be lost, so a
   * recorded line applies its onRecordingFailure policy until a test write
   * succeeds again.
   */
  get fault(): SpoolFault | undefined {
    return this.writeFault;
  }

  /** Free space on the spool's disk at the last check (every probeMs). */
  get diskFreeBytes(): number {
    return this.freeBytes;
  }

  get diskReserveBytes(): number {
    return this.minFreeBytes;
  }

  /**
   * True while the disk has less free than the reserve: new recordings are
   * refused before the disk fills under the calls already recording, which go
   * on writing into the reserve.
   */
  get low(): boolean {
    return this.freeBytes < this.minFreeBytes;
  }

  private async checkDisk(): Promise<void> {
    let free: number;
    try {
      const fs = await statfs(this.dir);
      free = fs.bavail * fs.bsize;
    } catch (err) {
      // Once, not every few seconds: a write that fails faults the spool anyway.
      if (!this.diskUnreadable) this.log.warn({ err, dir: this.dir }, 'could not read the spool disk\'s free space');
      this.diskUnreadable = true;
      return;
    }
    this.diskUnreadable = false;
    const wasLow = this.low;
    this.freeBytes = free;
    if (this.low && !wasLow) {
      this.log.error({ dir: this.dir, freeBytes: free, minFreeBytes: this.minFreeBytes }, 'spool disk low: recorded lines apply onRecordingFailure until it has room');
    } else if (wasLow && !this.low) {
      this.log.warn({ dir: this.dir, freeBytes: free, minFreeBytes: this.minFreeBytes }, 'spool disk has room again');
    }
  }

  /** Entries whose writer failed since the spool opened: each lost its audio from that moment. */
  get failedEntries(): number {
    return this.entriesFailed;
  }

  private faulted(err: unknown): void {
    if (this.writeFault || this.state === 'closed') return;
    this.writeFault = {
      code: (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO',
      message: messageOf(err),
      since: new Date(),
    };
    this.log.error({ err, dir: this.dir }, 'spool cannot write: recorded lines apply onRecordingFailure until it can');
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.probeTimer = setTimeout(() => {
      void this.probe().then((err) => {
        if (this.state === 'closed' || !this.writeFault) return;
        if (err !== null) {
          this.scheduleProbe();
          return;
        }
        this.log.warn({ dir: this.dir, since: this.writeFault.since.toISOString(), failedEntries: this.entriesFailed }, 'spool writable again');
        this.writeFault = undefined;
        return this.takeBackFailed();
      }).catch((err: unknown) => this.log.error({ err, dir: this.dir }, 'could not take back the spool entries that failed'));
    }, this.probeMs);
    // The gateway's sockets keep the process alive, not a probe.
    this.probeTimer.unref();
  }

  /**
   * What a failed entry's writer got onto the disk is kept: once the spool can
   * write again, each such entry is taken back as if a crash had left it
   * (`recovered`), so the uploader cuts it to its last whole chunk, seals it and
   * uploads it now rather than at the next start. Its writer's later appends
   * still go nowhere: they belong to the failed instance.
   */
  private async takeBackFailed(): Promise<void> {
    for (const entry of [...this.live.values()]) {
      if (!entry.failed) continue;
      await entry.closeFile().catch(() => undefined);
      const files = this.filesOf(entry.id);
      const size = await stat(files.seg).then(
        (st) => st.size,
        () => 0,
      );
      if (this.state === 'closed' || this.live.get(entry.id) !== entry) continue;
      this.used -= entry.size;
      if (size === 0) {
        // Nothing of it reached the disk: no object to make.
        this.live.delete(entry.id);
        await unlinkIfPresent(files.meta);
        await unlinkIfPresent(files.seg);
        continue;
      }
      const found = new SpoolFile(entry.id, entry.meta, files, this.owner, { kind: 'found', size, sealed: false });
      this.live.set(entry.id, found);
      this.used += size;
      this.safeEmit('entry', found);
    }
  }

  /** Writes and fsyncs PROBE_BYTES in a temp file, then removes it; null when that worked. */
  private async probe(): Promise<unknown> {
    const path = tempPathFor(join(this.dir, 'write-probe'));
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'wx', FILE_MODE);
      await writeAll(fh, Buffer.alloc(PROBE_BYTES));
      await fh.sync();
      return null;
    } catch (err) {
      return err;
    } finally {
      await fh?.close().catch(() => undefined);
      await unlinkIfPresent(path).catch(() => undefined);
    }
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
    // A disk already full (or read-only) at start faults the spool before the first call is taken.
    const err = await this.probe();
    if (err !== null) this.faulted(err);
    await this.checkDisk();
    // Said once at start: a limit the disk cannot hold means the disk, not the limit, stops recordings.
    const room = this.used + this.freeBytes - this.minFreeBytes;
    if (room < this.maxBytes) {
      this.log.warn({ dir: this.dir, maxBytes: this.maxBytes, roomBytes: Math.max(0, room), minFreeBytes: this.minFreeBytes }, 'spool.maxBytes is more than its disk can hold beside the free-space reserve: the disk will stop recordings first');
    }
    this.diskTimer = setInterval(() => void this.checkDisk(), this.probeMs);
    this.diskTimer.unref();
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
    let sealedAt: number | undefined;
    if (sealed) {
      const marker = await readFile(files.sealed, 'utf8').then(
        (s) => JSON.parse(s) as { size?: unknown },
        () => null,
      );
      if (marker?.size !== size) {
        this.log.error({ entry: id, key: meta.key, onDisk: size, sealedSize: marker?.size }, 'sealed spool entry changed size on disk');
      }
      // The marker is written once, atomically, when the entry is sealed.
      sealedAt = await stat(files.sealed).then((st) => Math.round(st.mtimeMs), () => Date.now());
    }
    return new SpoolFile(id, meta, files, this.owner, { kind: 'found', size, sealed, ...(sealedAt !== undefined ? { sealedAt } : {}) });
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
    clearTimeout(this.probeTimer);
    clearInterval(this.diskTimer);
    await Promise.all([...this.live.values()].map((e) => e.closeFile()));
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.log.error({ err, event }, 'spool listener threw');
  }
}
