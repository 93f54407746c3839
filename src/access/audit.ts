/**
 * The audit log: who paused, resumed, stopped or opted a call out of
 * recording, and who tried without the right token. One JSON record per line,
 * append-only, mode 0600. Each record carries `hash` = sha256(previous record's
 * hash + this record's JSON without `hash`), the first one chained to
 * `GENESIS_HASH`, so editing, inserting or removing a line breaks the chain
 * from there on (`verifyAuditLog`). Removing lines from the end only shows
 * against a copy kept elsewhere: the store's (audit-shipper.ts).
 *
 * Appends are rare (an operator's click), so each one is written and
 * datasync'd before the next starts: the order of the file is the order of
 * the calls to `append`, and a resolved append survives a power cut.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RecgwError } from '../errors.js';
import { DIR_MODE, FILE_MODE, syncDir, writeAll } from '../storage/atomic.js';

export interface AuditEntry {
  /** What was asked for: `pause`, `resume`, `stop`, `opt-out`, `unauthorized`. */
  readonly action: string;
  readonly callId?: string;
  /** The person or system the action is attributed to. */
  readonly by: string;
  /** `ok`, or the code of the error the request was answered with. */
  readonly outcome: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditEntry {
  readonly seq: number;
  /** ISO 8601, UTC. */
  readonly at: string;
  readonly hash: string;
}

/** What the control API needs of the log; tests and the gateway pass an `AuditLog`. */
export interface AuditSink {
  append(entry: AuditEntry): Promise<unknown>;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Records whose chain checked out, counted from the first line. */
  readonly records: number;
  /** Line number (from 1) of the first record that breaks the chain. */
  readonly brokenAt?: number;
}

/**
 * - `AUDIT_CORRUPT`: the last line of an existing log is not a record, so the chain cannot continue;
 * - `AUDIT_CLOSED`: an append after `close()`;
 * - `AUDIT_FAILED`: a write or sync failed (the append did not happen).
 */
export type AuditErrorCode = 'AUDIT_CORRUPT' | 'AUDIT_CLOSED' | 'AUDIT_FAILED';

export class AuditError extends RecgwError {
  declare readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export const GENESIS_HASH = '0'.repeat(64);

// `hash` is always the last key of a line, so the hashed text is the line with it cut off.
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"}$/;
const NL = 0x0a;
const SCAN_CHUNK = 8192;

const chainHash = (prev: string, body: string): string => createHash('sha256').update(prev).update(body).digest('hex');

/** The hash and sequence number a line claims, if its text verifies against `prev`; undefined if not. */
function checkLine(line: string, prev: string, seq: number): string | undefined {
  const m = HASH_SUFFIX.exec(line);
  if (!m?.[1]) return undefined;
  const body = `${line.slice(0, m.index)}}`;
  if (chainHash(prev, body) !== m[1]) return undefined;
  const parsed = parseBody(body);
  return parsed?.seq === seq ? m[1] : undefined;
}

function parseBody(body: string): { seq: number } | undefined {
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const seq = (v as Record<string, unknown>)['seq'];
    return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? { seq } : undefined;
  } catch {
    return undefined;
  }
}

/** Position of the last newline before `before`, or -1: scans backwards a chunk at a time. */
async function lastNewlineBefore(fh: FileHandle, before: number): Promise<number> {
  const buf = Buffer.alloc(SCAN_CHUNK);
  let end = before;
  while (end > 0) {
    const start = Math.max(0, end - SCAN_CHUNK);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    const i = buf.subarray(0, bytesRead).lastIndexOf(NL);
    if (i >= 0) return start + i;
    end = start;
  }
  return -1;
}

async function readRange(fh: FileHandle, start: number, end: number): Promise<string> {
  const buf = Buffer.alloc(end - start);
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.toString('utf8', 0, off);
}

export class AuditLog implements AuditSink {
  readonly file: string;
  /** Bytes of a torn last line (a crash inside an append that never resolved) cut at open. */
  readonly cutBytes: number;
  private readonly fh: FileHandle;
  private seq: number;
  private prevHash: string;
  private size: number;
  private queue: Promise<void> = Promise.resolve();
  private failed: unknown;
  private closing: Promise<void> | undefined;

  private constructor(file: string, fh: FileHandle, state: { seq: number; hash: string; size: number; cut: number }) {
    this.file = file;
    this.fh = fh;
    this.seq = state.seq;
    this.prevHash = state.hash;
    this.size = state.size;
    this.cutBytes = state.cut;
  }

  /** Opens (or creates) the log and continues the chain from its last record. */
  static async open(file: string): Promise<AuditLog> {
    await mkdir(dirname(file), { recursive: true, mode: DIR_MODE });
    const fh = await open(file, 'a+', FILE_MODE);
    try {
      // The mode given to open() only applies to a new file; an existing one is tightened too.
      await fh.chmod(FILE_MODE);
      const state = await AuditLog.tail(fh, file);
      await syncDir(dirname(file));
      return new AuditLog(file, fh, state);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private static async tail(fh: FileHandle, file: string): Promise<{ seq: number; hash: string; size: number; cut: number }> {
    const { size } = await fh.stat();
    let end = size;
    let cut = 0;
    if (size > 0) {
      const lastNl = await lastNewlineBefore(fh, size);
      if (lastNl !== size - 1) {
        // An append that crashed mid-write was never acknowledged: its bytes are not a record.
        end = lastNl + 1;
        cut = size - end;
        await fh.truncate(end);
        await fh.datasync();
      }
    }
    if (end === 0) return { seq: 0, hash: GENESIS_HASH, size: 0, cut };
    const start = (await lastNewlineBefore(fh, end - 1)) + 1;
    const line = await readRange(fh, start, end - 1);
    const m = HASH_SUFFIX.exec(line);
    const parsed = m ? parseBody(`${line.slice(0, m.index)}}`) : undefined;
    if (!m?.[1] || !parsed) throw new AuditError('AUDIT_CORRUPT', `${file}: the last line is not an audit record`);
    return { seq: parsed.seq, hash: m[1], size: end, cut };
  }

  /** Sequence number of the last record written (0 for an empty log). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Resolves once the record is on disk; appends are written one at a time, in call order. */
  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closing) return Promise.reject(new AuditError('AUDIT_CLOSED', 'audit log is closed'));
    const done = this.queue.then(() => this.write(entry));
    this.queue = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  private async write(entry: AuditEntry): Promise<AuditRecord> {
    if (this.failed !== undefined) throw new AuditError('AUDIT_FAILED', 'audit log unusable after a failed write', { cause: this.failed });
    // Fields picked one by one, in a fixed order: the line's text is what the hash covers.
    const record = {
      seq: this.seq + 1,
      at: new Date().toISOString(),
      action: entry.action,
      ...(entry.callId !== undefined && { callId: entry.callId }),
      by: entry.by,
      outcome: entry.outcome,
      ...(entry.details !== undefined && { details: entry.details }),
    };
    const body = JSON.stringify(record);
    const hash = chainHash(this.prevHash, body);
    const line = Buffer.from(`${body.slice(0, -1)},"hash":"${hash}"}\n`, 'utf8');
    try {
      await writeAll(this.fh, line);
      await this.fh.datasync();
    } catch (err) {
      // Cut whatever part of the line reached the file, or the next record would follow a torn one.
      try {
        await this.fh.truncate(this.size);
      } catch (truncErr) {
        this.failed = truncErr;
      }
      throw new AuditError('AUDIT_FAILED', `could not append to ${this.file}`, { cause: err });
    }
    this.size += line.length;
    this.seq = record.seq;
    this.prevHash = hash;
    return { ...record, hash };
  }

  /** Waits for pending appends, then closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.queue.then(() => this.fh.close());
    return this.closing;
  }
}

/**
 * Checks `lines` as records `firstSeq` on, chained from `prev`: the hash of
 * the last one, or undefined when a line breaks the chain (`checked` says how
 * many held before it).
 */
export function checkRecords(lines: readonly string[], prev: string, firstSeq: number): { lastHash: string | undefined; checked: number } {
  let hash = prev;
  for (const [i, line] of lines.entries()) {
    const next = checkLine(line, hash, firstSeq + i);
    if (next === undefined) return { lastHash: undefined, checked: i };
    hash = next;
  }
  return { lastHash: hash, checked: lines.length };
}

/** Reads the whole log and checks every line's chain link and sequence number. */
export async function verifyAuditLog(file: string): Promise<AuditVerification> {
  let prev = GENESIS_HASH;
  let records = 0;
  let pending = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const lines = (pending + (chunk as string)).split('\n');
    pending = lines.pop() ?? '';
    const { lastHash, checked } = checkRecords(lines, prev, records + 1);
    records += checked;
    if (lastHash === undefined) return { ok: false, records, brokenAt: records + 1 };
    prev = lastHash;
  }
  // Text after the last newline is a torn append (AuditLog.open cuts it): not a record.
  if (pending !== '') return { ok: false, records, brokenAt: records + 1 };
  return { ok: true, records };
}
