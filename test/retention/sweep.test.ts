/**
 * The retention sweep on a real filesystem store and a real audit log: what
 * expired goes (whole calls, manifests last, each deletion audited), and every
 * doubt keeps the recording.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, verifyAuditLog, type AuditEntry, type AuditSink } from '../../src/access/audit.js';
import { silentLogger } from '../../src/ops/log.js';
import { manifestKey, objectKey, recordingTags } from '../../src/recording/layout.js';
import type { LegName } from '../../src/recording/writer.js';
import { Holds } from '../../src/retention/holds.js';
import { sweepExpired, type SweepReport } from '../../src/retention/sweep.js';
import { FsStore } from '../../src/storage/fs.js';
import type { ObjectStore } from '../../src/storage/store.js';
import { FlakyStore } from '../helpers/flaky-store.js';

const DAY = 86_400_000;
const NOW = new Date('2026-12-07T03:30:00Z');
const daysAgo = (d: number, plusMs = 0): Date => new Date(NOW.getTime() - d * DAY + plusMs);

interface Env {
  readonly dir: string;
  readonly store: FsStore;
  readonly audit: AuditLog;
  readonly auditFile: string;
}

async function env(t: TestContext): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-sweep-'));
  const store = new FsStore({ dir: join(dir, 'store') });
  const auditFile = join(dir, 'audit.log');
  const audit = await AuditLog.open(auditFile);
  t.after(async () => {
    await audit.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, store, audit, auditFile };
}

interface CallSpec {
  readonly callId: string;
  readonly line?: string;
  readonly startedAt: Date;
  readonly retentionDays: number;
  /** Seconds after the call's start at which each segment of both legs starts. Default [0]. */
  readonly segmentsAt?: readonly number[];
}

/** Stores a call as the pipeline lays it out: a segment per leg and offset, the start and final manifests. */
async function putCall(store: ObjectStore, spec: CallSpec): Promise<string[]> {
  const line = spec.line ?? 'helpline';
  const keys: string[] = [];
  const put = async (key: string, startedAt: Date, leg: string): Promise<void> => {
    const tags = recordingTags({ line, operator: 'op-7', startedAt, leg, callId: spec.callId, direction: 'inbound' }, spec.retentionDays);
    await store.put(key, Buffer.from(`sealed audio of ${key}`), { tags });
    keys.push(key);
  };
  for (const [i, offset] of (spec.segmentsAt ?? [0]).entries()) {
    for (const leg of ['caller', 'agent'] as LegName[]) {
      const startedAt = new Date(spec.startedAt.getTime() + offset * 1000);
      // Segments are filed under the call's start day, as long as the call does not cross midnight.
      const info = { callId: spec.callId, leg, segment: i + 1, codec: 'PCMU', sampleRate: 8000, startedAt, callStartedAt: spec.startedAt, line, direction: 'inbound' } as const;
      await put(objectKey(info), startedAt, leg);
    }
  }
  await put(manifestKey(line, spec.callId, spec.startedAt, 'start'), spec.startedAt, 'manifest');
  await put(manifestKey(line, spec.callId, spec.startedAt, 'final'), spec.startedAt, 'manifest');
  return keys;
}

async function present(store: ObjectStore, keys: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const k of keys) if (await store.head(k)) found.push(k);
  return found;
}

function sweep(e: Env, store: ObjectStore = e.store, audit: AuditSink = e.audit): Promise<SweepReport> {
  return sweepExpired({ store, holds: new Holds(store), audit, log: silentLogger(), now: () => NOW });
}

async function auditRecords(file: string): Promise<(AuditEntry & { details: Record<string, unknown> })[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEntry & { details: Record<string, unknown> });
}

test('a call past its retention is deleted whole, its folders with it, and the deletion is audited', async (t) => {
  const e = await env(t);
  const old = await putCall(e.store, { callId: 'Old-Call@pstn', startedAt: daysAgo(91), retentionDays: 90, segmentsAt: [0, 300] });
  const young = await putCall(e.store, { callId: 'young-call', startedAt: daysAgo(89), retentionDays: 90 });
  const fresh = await putCall(e.store, { callId: 'fresh-call', startedAt: daysAgo(1), retentionDays: 14 });

  const report = await sweep(e);

  assert.deepEqual(await present(e.store, old), [], 'every object of the expired call is gone');
  assert.deepEqual(await present(e.store, young), young, 'a call one day short of its retention stays');
  assert.deepEqual(await present(e.store, fresh), fresh);
  assert.equal(report.deleted, 1);
  assert.equal(report.objectsDeleted, old.length);
  assert.equal(report.examined, 2, 'the call younger than the shortest retention is not even read');
  assert.equal(report.error, undefined);
  // The expired call's folders went with it, up to what still holds the young call.
  const dayOf = (d: Date): string => join(e.dir, 'store', 'helpline', ...d.toISOString().slice(0, 10).split('-'));
  await assert.rejects(readdir(dayOf(daysAgo(91))), { code: 'ENOENT' });
  assert.equal((await readdir(dayOf(daysAgo(89)))).length, 1);

  const records = await auditRecords(e.auditFile);
  assert.equal(records.length, 1);
  const [r] = records;
  assert.equal(r?.action, 'retention-delete');
  assert.equal(r?.callId, 'Old-Call@pstn');
  assert.equal(r?.by, 'retention-sweep');
  assert.equal(r?.outcome, 'ok');
  assert.equal(r?.details['line'], 'helpline');
  assert.equal(r?.details['retentionDays'], 90);
  assert.equal(r?.details['objects'], old.length);
  assert.equal(r?.details['expiredAt'], new Date(daysAgo(91).getTime() + 300_000 + 90 * DAY).toISOString(), 'expiry is the last segment\'s, not the call\'s start');
  assert.deepEqual(await verifyAuditLog(e.auditFile), { ok: true, records: 1 });

  const again = await sweep(e);
  assert.equal(again.deleted, 0, 'a second sweep finds nothing more to delete');
  assert.equal((await auditRecords(e.auditFile)).length, 1);
});

test('each object\'s own tags decide: a shorter retention in the config today does not cut short what was recorded under a longer one', async (t) => {
  const e = await env(t);
  const short = await putCall(e.store, { callId: 'short', startedAt: daysAgo(20), retentionDays: 14 });
  const long = await putCall(e.store, { callId: 'long', startedAt: daysAgo(20), retentionDays: 30 });
  // A call whose last segment started later than the rest expires with that segment.
  const straddling = await putCall(e.store, { callId: 'straddling', startedAt: daysAgo(30, -3_600_000), retentionDays: 30, segmentsAt: [0, 7200] });

  const report = await sweep(e);

  assert.deepEqual(await present(e.store, short), []);
  assert.deepEqual(await present(e.store, long), long);
  assert.deepEqual(await present(e.store, straddling), straddling, 'kept whole until its last segment expires, an hour from now');
  assert.equal(report.deleted, 1);
});

test('a hold keeps an expired call until it is released or its date passes; a hold that cannot be read keeps it too', async (t) => {
  const e = await env(t);
  const holds = new Holds(e.store);
  const held = await putCall(e.store, { callId: 'Complaint-Call', startedAt: daysAgo(100), retentionDays: 90 });
  const lapsed = await putCall(e.store, { callId: 'lapsed-hold', startedAt: daysAgo(100), retentionDays: 90 });
  const damaged = await putCall(e.store, { callId: 'damaged-hold', startedAt: daysAgo(100), retentionDays: 90 });
  await holds.place({ callId: 'Complaint-Call', reason: 'complaint C-1042', by: 'records-officer', placedAt: daysAgo(50).toISOString() });
  await holds.place({ callId: 'lapsed-hold', reason: 'case closed', by: 'records-officer', placedAt: daysAgo(50).toISOString(), until: daysAgo(1).toISOString() });
  await e.store.put('holds/damaged-hold.json', Buffer.from('{"callId":'), { tags: { kind: 'hold' } });

  const report = await sweep(e);
  assert.deepEqual(await present(e.store, held), held);
  assert.deepEqual(await present(e.store, damaged), damaged);
  assert.deepEqual(await present(e.store, lapsed), []);
  assert.equal(report.held, 2);
  assert.equal(report.deleted, 1);

  assert.equal((await holds.release('Complaint-Call'))?.reason, 'complaint C-1042');
  assert.equal(await holds.get('Complaint-Call'), null);
  const after = await sweep(e);
  assert.deepEqual(await present(e.store, held), [], 'released, the call goes at the next sweep');
  assert.equal(after.held, 1, 'the damaged hold still keeps its call');
});

test('an object whose tags cannot be read keeps its whole call', async (t) => {
  const e = await env(t);
  const keys = await putCall(e.store, { callId: 'untagged', startedAt: daysAgo(100), retentionDays: 90 });
  const manifest = keys.at(-1) ?? '';
  await writeFile(join(e.dir, 'store', ...`${manifest}.meta.json`.split('/')), '{}');

  const report = await sweep(e);
  assert.deepEqual(await present(e.store, keys), keys);
  assert.equal(report.unreadable, 1);
  assert.equal(report.deleted, 0);
});

test('a store that refuses the deletes keeps the call recognisable, audits the failure, and the next sweep finishes it', async (t) => {
  const e = await env(t);
  const flaky = new FlakyStore(e.store);
  const keys = await putCall(e.store, { callId: 'refused', startedAt: daysAgo(100), retentionDays: 90, segmentsAt: [0, 300] });

  // The store starts refusing after the first two objects are gone.
  flaky.deletesLeft = 2;
  const report = await sweep(e, flaky);
  assert.equal(report.failed, 1);
  assert.equal(report.deleted, 0);
  assert.equal(report.objectsDeleted, 2);
  const left = await present(e.store, keys);
  assert.ok(left.includes(keys.at(-1) ?? ''), 'the final manifest is deleted last, so it is still there');
  const [r] = await auditRecords(e.auditFile);
  assert.equal(r?.outcome, 'STORE_REJECTED', 'the part that was deleted is on the record, with why the rest was not');
  assert.equal(r?.details['deleted'], 2);

  flaky.deletesLeft = Infinity;
  const again = await sweep(e, flaky);
  assert.equal(again.deleted, 1);
  assert.deepEqual(await present(e.store, keys), []);
});

test('the sweep stops at the first deletion it cannot audit, and says so', async (t) => {
  const e = await env(t);
  const a = await putCall(e.store, { callId: 'a-call', startedAt: daysAgo(100), retentionDays: 90 });
  const b = await putCall(e.store, { callId: 'b-call', startedAt: daysAgo(100), retentionDays: 90 });
  const failing: AuditSink = { append: () => Promise.reject(new Error('disk full')) };

  const report = await sweep(e, e.store, failing);
  assert.equal(report.error, 'the audit log could not be written');
  assert.equal(report.deleted, 1);
  assert.deepEqual(await present(e.store, a), []);
  assert.deepEqual(await present(e.store, b), b, 'no more deletions without a record of them');
});

/** A real fs store whose heads take a while, as a round trip to S3 does, counting how many are under way at once. */
class DistantStore extends FsStore {
  inFlight = 0;
  maxInFlight = 0;
  readonly deleted: string[] = [];
  override async head(key: string): ReturnType<FsStore['head']> {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await super.head(key);
    } finally {
      this.inFlight--;
    }
  }
  override async delete(key: string): Promise<void> {
    this.deleted.push(key);
    await super.delete(key);
  }
}

test('the sweep reads several calls\' expiry at once, but deletes and audits one call at a time, in key order, and still stops at the first it cannot audit', async (t) => {
  const e = await env(t);
  const store = new DistantStore({ dir: join(e.dir, 'distant') });
  const calls: string[][] = [];
  // Twenty calls, every other one expired; the others within their retention (one head settles each).
  for (let i = 0; i < 20; i++) calls.push(await putCall(store, { callId: `call-${String(i).padStart(2, '0')}`, startedAt: daysAgo(100, i * 1000), retentionDays: i % 2 === 0 ? 90 : 365 }));
  const expired = calls.filter((_, i) => i % 2 === 0);

  const report = await sweep(e, store);
  assert.equal(report.error, undefined);
  assert.deepEqual([report.examined, report.deleted], [20, 10]);
  assert.ok(store.maxInFlight > 1 && store.maxInFlight <= 8, `reads overlapped, at most 8 at once: ${store.maxInFlight}`);
  // Each call's objects went together, its manifests last, and the calls in key order.
  assert.deepEqual(store.deleted, expired.flatMap((keys) => [...keys].sort((a, b) => Number(a.includes('/manifest')) - Number(b.includes('/manifest')) || (a < b ? -1 : 1))));
  assert.deepEqual((await auditRecords(e.auditFile)).map((r) => r.callId), expired.map((_, i) => `call-${String(i * 2).padStart(2, '0')}`));
  for (const keys of calls.filter((_, i) => i % 2 === 1)) assert.deepEqual(await present(store, keys), keys);

  // With calls read ahead, a failed audit record still stops the deletions right there.
  const more: string[][] = [];
  for (let i = 0; i < 12; i++) more.push(await putCall(store, { callId: `more-${String(i).padStart(2, '0')}`, startedAt: daysAgo(100, i * 1000), retentionDays: 90 }));
  let appended = 0;
  const failing: AuditSink = { append: () => (++appended >= 3 ? Promise.reject(new Error('disk full')) : Promise.resolve()) };
  const stopped = await sweep(e, store, failing);
  assert.equal(stopped.error, 'the audit log could not be written');
  assert.equal(stopped.deleted, 3);
  for (const keys of more.slice(3)) assert.deepEqual(await present(store, keys), keys, 'nothing past the call it could not audit');
});
