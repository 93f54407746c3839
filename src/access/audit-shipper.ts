/**
 * Copies the audit log into the object store as it grows, so the record of
 * who paused, erased or released what outlives the gateway's disk, and so
 * lines removed from the end of the local file show against the copy (the
 * hash chain alone cannot show that). Each copy is a new object holding the
 * records appended since the one before, byte for byte:
 *
 *   audit/<host>/<first seq>-<last seq>-<last hash, 12 hex>.jsonl
 *
 * Nothing is ever overwritten, so a bucket with Object Lock keeps every one,
 * and a log started afresh (a new disk) is told apart by its hashes. The
 * objects of one host, in key order, are the log.
 */
import { open } from 'node:fs/promises';
import { messageOf } from '../errors.js';
import type { Logger } from '../ops/log.js';
import { auditCopyKey, auditHostPrefix, parseAuditCopyKey } from '../recording/layout.js';
import type { ObjectStore } from '../storage/store.js';

export interface AuditShipperOptions {
  readonly store: ObjectStore;
  /** The audit log's file. */
  readonly file: string;
  /** This gateway's name in the store: its host name. */
  readonly host: string;
  readonly log: Logger;
  /** How often new records are copied. Default 60 s; stop() copies the rest. */
  readonly intervalMs?: number;
}

/** What /health shows of the copying. */
export interface AuditShippingView {
  /** The last record the store holds. */
  readonly shippedSeq: number;
  readonly lastShippedAt?: string;
  /** Set while copies fail: the first failure since the last success, and the latest error. */
  readonly failingSince?: string;
  readonly lastError?: string;
}

interface Record {
  readonly seq: number;
  readonly hash: string;
}

function recordOf(line: string): Record {
  const r = JSON.parse(line) as { seq?: unknown; hash?: unknown };
  if (typeof r.seq !== 'number' || typeof r.hash !== 'string') throw new Error('not an audit record');
  return { seq: r.seq, hash: r.hash };
}

export class AuditShipper {
  private readonly prefix: string;
  /** Bytes of the local file the store holds. */
  private offset = 0;
  private shippedSeq = 0;
  private lastShippedAt: Date | undefined;
  private failingSince: Date | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shipping: Promise<void> | undefined;
  /** Whether the store's copy has been found (at the first copy that could list the store). */
  private located = false;

  constructor(private readonly opts: AuditShipperOptions) {
    this.prefix = auditHostPrefix(opts.host);
  }

  get view(): AuditShippingView {
    return {
      shippedSeq: this.shippedSeq,
      ...(this.lastShippedAt ? { lastShippedAt: this.lastShippedAt.toISOString() } : {}),
      ...(this.failingSince ? { failingSince: this.failingSince.toISOString() } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * Finds where the store's copy of this log ends, then copies what follows
   * now and every interval. A store that cannot be read at start is tried
   * again at the next interval; nothing is copied twice meanwhile.
   */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.shipNow(), this.opts.intervalMs ?? 60_000);
    this.timer.unref();
    await this.shipNow();
  }

  /** Copies the records appended since the last copy; one copy at a time. */
  shipNow(): Promise<void> {
    this.shipping ??= this.ship().finally(() => (this.shipping = undefined));
    return this.shipping;
  }

  /** Stops the interval and copies what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.shipping;
    await this.shipNow();
  }

  private async ship(): Promise<void> {
    try {
      if (!this.located) {
        await this.locate();
        this.located = true;
      }
      const fresh = await this.readFrom(this.offset);
      if (fresh.length === 0) return;
      const text = fresh.toString('utf8');
      const lines = text.slice(0, -1).split('\n');
      const first = recordOf(lines[0] ?? '');
      const last = recordOf(lines.at(-1) ?? '');
      const key = auditCopyKey(this.opts.host, first.seq, last.seq, last.hash);
      await this.opts.store.put(key, fresh, { tags: {}, contentType: 'application/jsonl' });
      this.offset += fresh.length;
      this.shippedSeq = last.seq;
      this.lastShippedAt = new Date();
      if (this.failingSince) this.opts.log.info({ shippedSeq: last.seq, since: this.failingSince.toISOString() }, 'audit log copied to the store again');
      this.failingSince = undefined;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = messageOf(err);
      if (!this.failingSince) {
        this.failingSince = new Date();
        this.opts.log.warn({ err, file: this.opts.file }, 'audit log not copied to the store; tried again at the next interval');
      }
    }
  }

  /** Where the store's copy ends in the local file: after the record whose seq and hash its last object names. */
  private async locate(): Promise<void> {
    let last: { seq: number; hash: string } | undefined;
    for await (const o of this.opts.store.list(this.prefix)) {
      const copy = parseAuditCopyKey(o.key);
      if (copy && (!last || copy.lastSeq > last.seq)) last = { seq: copy.lastSeq, hash: copy.hash };
    }
    if (!last) return;
    const local = await this.readFrom(0);
    let at = 0;
    for (const line of local.toString('utf8').split('\n')) {
      if (line === '') break;
      at += Buffer.byteLength(line) + 1;
      const r = recordOf(line);
      if (r.seq === last.seq && r.hash.startsWith(last.hash)) {
        this.offset = at;
        this.shippedSeq = r.seq;
        return;
      }
    }
    // The store's copy is of another log (this one started afresh): this one is copied whole, under its own hashes.
    this.opts.log.warn({ file: this.opts.file, storeSeq: last.seq }, 'audit log is not the one the store holds a copy of (a new log?): copying it whole beside the old');
  }

  /** The whole lines from `offset` on: an append under way is left for the next copy. */
  private async readFrom(offset: number): Promise<Buffer> {
    const fh = await open(this.opts.file, 'r');
    try {
      const { size } = await fh.stat();
      if (size <= offset) return Buffer.alloc(0);
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      const end = buf.lastIndexOf(0x0a, bytesRead - 1);
      return buf.subarray(0, end + 1);
    } finally {
      await fh.close();
    }
  }
}
