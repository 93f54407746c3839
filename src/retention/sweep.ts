/**
 * The retention sweep: deletes every call whose recordings have all outlived
 * their retention, unless the call is held, and writes one audit record per
 * call deleted.
 *
 * A recording's retention is what its objects' tags say (`started` plus
 * `retention` days, as Object Lock's retain-until date is reckoned), not what
 * the line's config says today: shortening a line's retention must not cut
 * short what was recorded under the longer one. A call goes as a whole, once
 * its last object has expired, so an export never finds half a call. Its
 * manifest is deleted last: a sweep cut short leaves a call that the next
 * sweep still recognises and finishes.
 *
 * Every doubt keeps the recording: an object without readable tags, a hold
 * that cannot be read, a store that refuses a delete. Each is counted and
 * logged, and the next sweep tries again.
 */
import type { AuditSink } from '../access/audit.js';
import type { Logger } from '../ops/log.js';
import { parseRecordingKey } from '../recording/layout.js';
import { StorageError, type ObjectStore } from '../storage/store.js';
import { deleteCall } from './delete-call.js';
import { holdsAt, type Hold, type Holds } from './holds.js';
import { messageOf } from '../errors.js';

/** The shortest retention a line may have: a call younger than this cannot have expired, so it is not even looked at. */
export const MIN_RETENTION_DAYS = 14;
const DAY_MS = 86_400_000;
/** The audit log's `by` for what the sweep deletes. */
export const SWEEP_BY = 'retention-sweep';

export interface SweepReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Calls old enough to have expired, whose tags were read. */
  readonly examined: number;
  /** Calls deleted, and their objects. */
  readonly deleted: number;
  readonly objectsDeleted: number;
  /** Expired calls kept by a hold (or by a hold that could not be read). */
  readonly held: number;
  /** Calls kept because an object's tags could not be read. */
  readonly unreadable: number;
  /** Expired calls the store would not (wholly) delete: tried again at the next sweep. */
  readonly failed: number;
  /** Set when the sweep stopped before the end: the store could not be listed, or the audit log not written. */
  readonly error?: string;
}

export interface SweepOptions {
  readonly store: ObjectStore;
  readonly holds: Holds;
  readonly audit: AuditSink;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Stops the sweep between calls (the gateway is stopping). */
  readonly signal?: AbortSignal;
  /** Calls whose expiry is read at once (`READ_AHEAD`); 1 reads them one at a time, the benchmark's baseline. */
  readonly readAhead?: number;
}

/**
 * Calls whose expiry is read at once. Each read is a head or more, a round
 * trip to S3, and one at a time a million-call store took hours; deletions
 * and their audit records still go one at a time, in key order.
 */
const READ_AHEAD = 8;

/** A call's keys as the listing gave them. */
interface Listed {
  readonly prefix: string;
  readonly folder: string;
  readonly keys: string[];
}

interface Expiry {
  /** When the last object expires; undefined when one's tags cannot be read. */
  readonly at?: number;
  readonly callId?: string;
  readonly line?: string;
  readonly started?: string;
  readonly retentionDays?: number;
}

export async function sweepExpired(opts: SweepOptions): Promise<SweepReport> {
  const now = (opts.now ?? (() => new Date()))();
  const log = opts.log.child({ component: 'retention' });
  const startedAt = now.toISOString();
  const counts = { examined: 0, deleted: 0, objectsDeleted: 0, held: 0, unreadable: 0, failed: 0 };
  const finish = (error?: string): SweepReport => {
    const report: SweepReport = { startedAt, finishedAt: new Date().toISOString(), ...counts, ...(error !== undefined ? { error } : {}) };
    if (error !== undefined) log.error(report, 'retention sweep stopped early');
    else log.info(report, 'retention sweep done');
    return report;
  };

  let holds: Map<string, Hold>;
  let unreadableHolds: Set<string>;
  try {
    ({ holds, unreadable: unreadableHolds } = await opts.holds.all());
  } catch (err) {
    // Without the holds, any deletion might be of held evidence.
    return finish(`holds could not be read: ${messageOf(err)}`);
  }

  /** The expiry of a call: the latest `started` + `retention` of its objects; stops at the first that has not expired. */
  async function expiryOf(keys: readonly string[]): Promise<Expiry> {
    let latest = -Infinity;
    let first: Expiry = {};
    // The last keys (manifests, the latest segments) expire last: reading them first settles most young calls at one head.
    for (const key of [...keys].reverse()) {
      const info = await opts.store.head(key);
      if (!info) continue; // deleted meanwhile
      const started = Date.parse(info.tags['started'] ?? '');
      const days = Number(info.tags['retention']);
      if (Number.isNaN(started) || !Number.isInteger(days) || days <= 0) {
        log.warn({ key }, 'recording kept: its started or retention tag cannot be read');
        return {};
      }
      const at = started + days * DAY_MS;
      if (first.callId === undefined) {
        first = { callId: info.tags['call-id'] ?? '', line: info.tags['line'] ?? '', started: info.tags['started'] ?? '', retentionDays: days };
      }
      if (at > latest) latest = at;
      if (latest > now.getTime()) break;
    }
    return { ...first, at: latest };
  }

  /** Settles one call, its expiry read: false when the sweep must stop (the audit log failed). */
  async function settle(prefix: string, folder: string, keys: string[], expiry: Expiry): Promise<boolean> {
    counts.examined++;
    if (expiry.at === undefined) {
      counts.unreadable++;
      return true;
    }
    if (expiry.at > now.getTime()) return true;
    const hold = holds.get(folder);
    if ((hold && holdsAt(hold, now)) || unreadableHolds.has(folder)) {
      counts.held++;
      log.info({ prefix, reason: hold?.reason, until: hold?.until }, 'expired recording kept by a hold');
      return true;
    }
    const { deleted, failure } = await deleteCall(opts.store, keys);
    counts.objectsDeleted += deleted;
    if (failure === undefined) counts.deleted++;
    else counts.failed++;
    const outcome = failure === undefined ? 'ok' : failure instanceof StorageError ? failure.code : 'failed';
    const details = {
      prefix,
      line: expiry.line,
      started: expiry.started,
      retentionDays: expiry.retentionDays,
      expiredAt: new Date(expiry.at).toISOString(),
      objects: keys.length,
      deleted,
      ...(failure !== undefined ? { error: messageOf(failure) } : {}),
    };
    if (failure !== undefined) log.warn({ callId: expiry.callId, ...details }, 'expired recording not (wholly) deleted: tried again at the next sweep');
    else log.info({ callId: expiry.callId, ...details }, 'expired recording deleted');
    if (deleted === 0) return true;
    try {
      await opts.audit.append({ action: 'retention-delete', ...(expiry.callId ? { callId: expiry.callId } : {}), by: SWEEP_BY, outcome, details });
      return true;
    } catch (err) {
      log.error({ err, prefix }, 'audit record of a retention deletion not written');
      return false;
    }
  }

  // The calls listed and being read, oldest first: their heads overlap, their deletions go one at a time, in key order.
  const readAheadMax = Math.max(1, opts.readAhead ?? READ_AHEAD);
  const ahead: { readonly call: Listed; readonly read: Promise<{ readonly expiry: Expiry } | { readonly error: unknown }> }[] = [];
  const readAhead = (call: Listed): void => {
    // Settled or not, a read never rejects: one left behind when the sweep stops must not surface as an unhandled error.
    ahead.push({ call, read: expiryOf(call.keys).then((expiry) => ({ expiry }), (error: unknown) => ({ error })) });
  };
  /** Settles the oldest call read ahead: false when the sweep must stop (the audit log failed). */
  const settleNext = async (): Promise<boolean> => {
    const next = ahead.shift();
    if (!next) return true;
    const read = await next.read;
    if ('error' in read) throw read.error;
    return settle(next.call.prefix, next.call.folder, next.call.keys, read.expiry);
  };

  let current: Listed | undefined;
  const cutoff = now.getTime() - MIN_RETENTION_DAYS * DAY_MS;
  try {
    for await (const o of opts.store.list('')) {
      const call = parseRecordingKey(o.key);
      if (!call) continue;
      if (current?.prefix === call.prefix) {
        current.keys.push(o.key);
        continue;
      }
      if (current) readAhead(current);
      if (ahead.length >= readAheadMax && !(await settleNext())) return finish('the audit log could not be written');
      if (opts.signal?.aborted) return finish('stopped');
      // A call whose whole UTC day is younger than the shortest retention cannot have expired.
      current = Date.parse(call.day) + DAY_MS <= cutoff ? { prefix: call.prefix, folder: call.folder, keys: [o.key] } : undefined;
    }
    if (current) readAhead(current);
    while (ahead.length > 0) {
      if (!(await settleNext())) return finish('the audit log could not be written');
      if (opts.signal?.aborted) return finish('stopped');
    }
  } catch (err) {
    return finish(`the store failed: ${messageOf(err)}`);
  }
  return finish();
}
