import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffCeiling, backoffDelay } from '../../src/storage/backoff.js';
import { FsStore } from '../../src/storage/fs.js';
import { Spool, type SpoolEntry, type SpoolEntryMeta } from '../../src/storage/spool.js';
import type { ObjectStore } from '../../src/storage/store.js';
import { Uploader, type UploaderEvents, type UploaderOptions } from '../../src/storage/uploader.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { smallDisk } from '../helpers/small-disk.js';
import { openSpool } from '../helpers/spool.js';
import { captureLog } from '../helpers/log.js';

interface Rig {
  dir: string;
  spool: Spool;
  store: FsStore;
  storeDir: string;
  logLines: () => Record<string, unknown>[];
  uploader(opts?: Partial<UploaderOptions>): Uploader;
}

async function rig(t: TestContext, dir?: string): Promise<Rig> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'recgw-upload-')));
  if (!dir) t.after(() => rm(root, { recursive: true, force: true }));
  const spool = new Spool({ dir: join(root, 'spool'), maxBytes: 1 << 30 });
  await spool.open();
  t.after(() => spool.close());
  const storeDir = join(root, 'store');
  const store = new FsStore({ dir: storeDir });
  const { logger, entries: logLines } = captureLog();
  return {
    dir: root,
    spool,
    store,
    storeDir,
    logLines,
    uploader: (opts = {}) => {
      // Every write of a live entry is read at once, so a test can see each one arrive.
      const u = new Uploader({ spool, store, logger, backoff: { initialMs: 5, maxMs: 40 }, liveReadBytes: 1, ...opts });
      t.after(() => u.stop());
      return u;
    },
  };
}

function meta(callId: string, leg = 'caller'): SpoolEntryMeta {
  const tags = { line: 'sales', operator: '2001', started: '2024-05-01T10:00:00.000Z', leg, 'call-id': callId, direction: 'inbound', retention: '30' };
  return { key: `2024/05/01/${callId}/${leg}-1.rgw`, tags, callId, kind: 'audio' };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function until(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (await cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function objectBytes(store: ObjectStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await store.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Temp files of puts under way, anywhere in the store. */
async function tempFiles(storeDir: string): Promise<Array<{ name: string; size: number }>> {
  const names = await readdir(storeDir, { recursive: true }).catch(() => [] as string[]);
  const temps = names.filter((n) => n.endsWith('.tmp'));
  return Promise.all(temps.map(async (name) => ({ name, size: (await stat(join(storeDir, name)).catch(() => ({ size: -1 }))).size })));
}

function record<K extends keyof UploaderEvents>(u: Uploader, event: K): Array<Parameters<UploaderEvents[K]>[0]> {
  const seen: Array<Parameters<UploaderEvents[K]>[0]> = [];
  u.on(event, (e: Parameters<UploaderEvents[K]>[0]) => seen.push(e));
  return seen;
}

test('backoff: the ceiling doubles up to maxMs, and the wait is drawn under it (full jitter)', () => {
  const opts = { initialMs: 500, maxMs: 60_000 };
  assert.deepEqual([1, 2, 3, 4, 8, 9, 1000].map((n) => backoffCeiling(n, opts)), [500, 1000, 2000, 4000, 60_000, 60_000, 60_000]);
  assert.equal(backoffDelay(3, opts, () => 0), 0);
  assert.equal(backoffDelay(3, opts, () => 0.5), 1000);
  assert.equal(backoffDelay(3, opts, () => 0.999999), 1999);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(2, opts);
    assert.ok(d >= 0 && d < 1000, `${d} within the ceiling`);
  }
});

test('entries stream to the store while written, arrive whole with their tags, and leave the spool', async (t) => {
  const r = await rig(t);
  const uploader = r.uploader();
  const uploaded = record(uploader, 'uploaded');
  await uploader.start();
  const caller = r.spool.create(meta('call-1', 'caller'));
  const agent = r.spool.create(meta('call-1', 'agent'));
  assert.equal(uploader.stats.uploading, 2, 'both start at once');
  assert.equal(uploader.stats.streaming, 2, 'as tails of the growing files');
  const callerBytes = Buffer.alloc(40_000, 0x11);
  const agentBytes = Buffer.alloc(24_000, 0x22);
  caller.append(callerBytes.subarray(0, 30_000));
  agent.append(agentBytes.subarray(0, 8_000));
  // The bytes are in the store's temp files before the segment is sealed: the upload follows the call.
  await until(async () => (await tempFiles(r.storeDir)).map((f) => f.size).sort((a, b) => a - b).join() === '8000,30000', 'bytes streamed before seal');
  assert.equal(await r.store.head(caller.meta.key), null);
  caller.append(callerBytes.subarray(30_000));
  agent.append(agentBytes.subarray(8_000));
  await Promise.all([caller.seal(), agent.seal()]);
  assert.equal(await uploader.drain(20_000), true);
  assert.deepEqual(uploader.stats, { uploaded: 2, failures: 0, retrying: 0, queued: 0, waitingLive: 0, uploading: 0, streaming: 0, bytesUploaded: 64_000, failuresSinceSuccess: 0 }, 'settled when drain resolves');

  for (const [entry, bytes] of [
    [caller, callerBytes],
    [agent, agentBytes],
  ] as const) {
    const info = await r.store.head(entry.meta.key);
    assert.ok(info, entry.meta.key);
    assert.equal(info.size, bytes.length);
    assert.equal(info.sha256, sha(bytes));
    assert.deepEqual(info.tags, entry.meta.tags);
    assert.deepEqual(await objectBytes(r.store, entry.meta.key), bytes);
  }
  assert.deepEqual(r.spool.entries(), []);
  assert.equal(r.spool.usedBytes, 0);
  assert.deepEqual(await readdir(join(r.dir, 'spool')), [], 'no spool file left');
  assert.deepEqual(
    uploaded.map((e) => [e.key, e.size, e.sha256, e.attempts]).sort(),
    [
      [caller.meta.key, callerBytes.length, sha(callerBytes), 1],
      [agent.meta.key, agentBytes.length, sha(agentBytes), 1],
    ].sort(),
  );
});

test('while the store is down the spool keeps the entry and retries with growing backoff; all arrives once it is back', async (t) => {
  const r = await rig(t);
  const store = new FlakyStore(r.store);
  store.down = true;
  const uploader = r.uploader({ store, backoff: { initialMs: 4, maxMs: 30 } });
  const failed = record(uploader, 'failed');
  const uploaded = record(uploader, 'uploaded');
  await uploader.start();
  const entry = r.spool.create(meta('call-2'));
  const bytes = Buffer.alloc(10_000, 0x33);
  entry.append(bytes);
  await entry.seal();
  await until(() => failed.length >= 6, 'six failed attempts');
  assert.deepEqual(r.spool.entries(), [entry], 'the spool keeps the entry');
  assert.equal(await r.store.head(entry.meta.key), null);
  failed.slice(0, 6).forEach((f, i) => {
    assert.equal(f.key, entry.meta.key);
    assert.equal(f.attempt, i + 1);
    assert.equal(f.error.code, 'STORE_UNAVAILABLE');
    assert.ok(f.retryInMs <= backoffCeiling(i + 1, { initialMs: 4, maxMs: 30 }), `retry ${i + 1} waits ${f.retryInMs} ms, under its ceiling`);
  });
  assert.ok(uploader.stats.failures >= 6);
  assert.ok(uploader.stats.failuresSinceSuccess >= 6, 'the store is failing now');
  assert.equal(uploader.stats.lastFailure?.code, 'STORE_UNAVAILABLE', 'and why');

  store.down = false;
  assert.equal(await uploader.drain(20_000), true);
  assert.deepEqual(await objectBytes(r.store, entry.meta.key), bytes);
  assert.equal(uploaded.length, 1);
  assert.equal(uploaded[0]?.attempts, failed.length + 1);
  assert.equal(uploader.stats.failures, failed.length);
  assert.equal(uploader.stats.failuresSinceSuccess, 0, 'the store took an upload: failing no longer');
  assert.equal(uploader.stats.lastFailure, undefined, 'no stale reason once it works');
  assert.equal(uploader.stats.retrying, 0);
  // One warning when the entry first failed and one when the store came back, whatever the number of retries.
  const warnings = r.logLines().filter((l) => l['level'] === 40).map((l) => l['msg']);
  assert.deepEqual(warnings, ['upload failed; the spool keeps the entry and retries', 'object store accepts uploads again']);
});

test('an outage in the middle of a call restarts the tail upload from the first byte', async (t) => {
  const r = await rig(t);
  const store = new FlakyStore(r.store);
  const uploader = r.uploader({ store });
  const failed = record(uploader, 'failed');
  await uploader.start();
  const entry = r.spool.create(meta('call-3'));
  const chunks = [Buffer.alloc(5000, 1), Buffer.alloc(5000, 2), Buffer.alloc(5000, 3), Buffer.alloc(5000, 4)];
  entry.append(chunks[0]!);
  await until(async () => (await tempFiles(r.storeDir)).some((f) => f.size === 5000), 'the first chunk in the store');
  store.down = true;
  entry.append(chunks[1]!);
  await until(() => failed.length >= 2, 'the broken upload and a refused retry');
  assert.equal(entry.sealed, false, 'still mid-call');
  assert.deepEqual(await tempFiles(r.storeDir), [], 'the broken upload left no partial object');
  store.down = false;
  entry.append(chunks[2]!);
  await until(async () => (await tempFiles(r.storeDir)).some((f) => f.size === 15_000), 'a new tail upload from the start');
  entry.append(chunks[3]!);
  await entry.seal();
  assert.equal(await uploader.drain(20_000), true);
  assert.deepEqual(await objectBytes(r.store, entry.meta.key), Buffer.concat(chunks));
});

test('an object the store holds differently from what was streamed is not confirmed: the entry stays and is sent again', async (t) => {
  const r = await rig(t);
  const store = new FlakyStore(r.store);
  store.corrupt = true;
  const uploader = r.uploader({ store });
  const failed = record(uploader, 'failed');
  await uploader.start();
  const entry = r.spool.create(meta('call-11'));
  const bytes = Buffer.alloc(4000, 0x55);
  entry.append(bytes); // streamed as a tail: only the uploader's own check can catch it
  await entry.seal();
  await until(() => failed.length >= 2, 'two unconfirmed uploads');
  // The first attempt was a tail (checked by the uploader), the retry a sealed file (checked by the store too).
  assert.ok(failed.every((f) => f.error.code === 'VERIFY_FAILED'), failed.map((f) => f.error.message).join('; '));
  assert.deepEqual(r.spool.entries(), [entry]);
  store.corrupt = false;
  assert.equal(await uploader.drain(20_000), true);
  assert.deepEqual(await objectBytes(r.store, entry.meta.key), bytes);
});

test('a crash leftover goes through the recover hook, then is uploaded as recovered', async (t) => {
  const first = await rig(t);
  const torn = first.spool.create(meta('call-4', 'caller'));
  const kept = Buffer.alloc(9000, 0x44);
  torn.append(kept);
  torn.append(Buffer.from('half a chunk'));
  const empty = first.spool.create(meta('call-4', 'agent'));
  const sealed = first.spool.create(meta('call-5'));
  sealed.append(Buffer.from('sealed before the crash'));
  await sealed.seal();
  await first.spool.close(); // no seal for the first two: the next open finds them unsealed

  const r = await rig(t, first.dir);
  const seen: SpoolEntry[] = [];
  const uploader = r.uploader({
    recover: async (entry) => {
      seen.push(entry);
      // What the crypto layer's recoverableLength would say: the last whole chunk ends at 9000.
      if (entry.size > 9000) await entry.truncate(9000);
    },
  });
  await uploader.start();
  assert.deepEqual(
    seen.map((e) => [e.id, e.recovered, e.sealed]),
    [
      [torn.id, true, true],
      [empty.id, true, false],
    ],
    'only unsealed leftovers reach the hook (sealed afterwards, unless empty)',
  );
  assert.equal(await uploader.drain(20_000), true);
  assert.deepEqual(await objectBytes(r.store, torn.meta.key), kept);
  assert.deepEqual((await r.store.head(torn.meta.key))?.tags, torn.meta.tags);
  assert.deepEqual(await objectBytes(r.store, sealed.meta.key), Buffer.from('sealed before the crash'));
  assert.equal(await r.store.head(empty.meta.key), null, 'an empty leftover is dropped, not uploaded');
  assert.deepEqual(await readdir(join(r.dir, 'spool')), []);
});

test('stop() aborts uploads under way and keeps the entries; a new uploader resumes them', async (t) => {
  const r = await rig(t);
  const first = r.uploader();
  await first.start();
  const live = r.spool.create(meta('call-6'));
  const part1 = Buffer.alloc(7000, 0x66);
  live.append(part1);
  await until(async () => (await tempFiles(r.storeDir)).some((f) => f.size === 7000), 'the live entry streaming');
  await first.stop();
  assert.deepEqual(r.spool.entries(), [live]);
  assert.deepEqual(await tempFiles(r.storeDir), [], 'the aborted upload cleaned up');
  assert.equal(await r.store.head(live.meta.key), null);
  assert.equal(first.stats.failures, 0, 'an abort by stop() is not a failure');
  // Entries created while no uploader runs wait in the spool.
  const later = r.spool.create(meta('call-7'));
  later.append(Buffer.from('made while stopped'));
  await later.seal();
  assert.equal(await first.drain(50), false);

  const second = r.uploader();
  await second.start();
  const part2 = Buffer.alloc(3000, 0x67);
  live.append(part2);
  await live.seal();
  assert.equal(await second.drain(20_000), true);
  assert.deepEqual(await objectBytes(r.store, live.meta.key), Buffer.concat([part1, part2]));
  assert.deepEqual(await objectBytes(r.store, later.meta.key), Buffer.from('made while stopped'));
});

test('concurrency bounds the uploads of sealed entries, liveConcurrency the tails; each waits for a slot of its own kind', async (t) => {
  const r = await rig(t);
  const uploader = r.uploader({ concurrency: 1, liveConcurrency: 1 });
  const uploaded = record(uploader, 'uploaded');
  await uploader.start();
  const a = r.spool.create(meta('call-8'));
  const b = r.spool.create(meta('call-9'));
  const c = r.spool.create(meta('call-10'));
  assert.equal(uploader.stats.uploading, 1);
  assert.equal(uploader.stats.streaming, 1, 'a streams; b and c find the one tail slot taken');
  assert.equal(uploader.stats.waitingLive, 2);
  assert.equal(uploader.stats.queued, 0, 'no backlog: nothing sealed waits');
  for (const [i, e] of [a, b, c].entries()) e.append(Buffer.alloc(1000 * (i + 1), i));
  // Sealed, c takes the slot of sealed entries at once: it never waits for a's call to end.
  await c.seal();
  await until(() => uploaded.length === 1, 'the sealed c while a still streams');
  assert.deepEqual(
    uploaded.map((u) => u.key),
    [c.meta.key],
  );
  assert.equal(a.sealed, false);
  assert.equal(uploader.stats.streaming, 1);
  await a.seal();
  await until(() => uploaded.length === 2, "a's tail completes");
  // a's tail slot is free now: the live b streams in it.
  await until(() => uploader.stats.streaming === 1 && uploader.stats.waitingLive === 0, 'b streaming');
  await b.seal();
  assert.equal(await uploader.drain(20_000), true);
  assert.deepEqual(
    uploaded.map((u) => u.key),
    [c.meta.key, a.meta.key, b.meta.key],
  );
  assert.equal(uploader.stats.bytesUploaded, 6000);
  assert.equal(uploader.stats.streaming, 0);
});

test('with every tail slot held by long calls, finished segments of other calls still reach the store while those calls run', async (t) => {
  const r = await rig(t);
  const uploader = r.uploader({ concurrency: 2, liveConcurrency: 2 });
  const uploaded = record(uploader, 'uploaded');
  await uploader.start();
  // Two long calls' legs take both tail slots and keep them.
  const long = [r.spool.create(meta('long-1', 'caller')), r.spool.create(meta('long-1', 'agent'))];
  for (const e of long) e.append(Buffer.alloc(500, 1));
  assert.equal(uploader.stats.streaming, 2);
  // Twenty more legs: each written and sealed (a segment rollover, a call that ended).
  const short = Array.from({ length: 20 }, (_, i) => r.spool.create(meta(`short-${i}`)));
  for (const [i, e] of short.entries()) e.append(Buffer.alloc(300 + i, i));
  assert.equal(uploader.stats.waitingLive, 20, 'no tail slot for them while they are written');
  for (const e of short) await e.seal();
  await until(() => uploaded.length === short.length, 'every sealed segment uploaded');
  for (const [i, e] of short.entries()) assert.deepEqual(await objectBytes(r.store, e.meta.key), Buffer.alloc(300 + i, i), e.meta.key);
  assert.equal(uploader.stats.streaming, 2, 'the long calls are still streaming');
  assert.ok(long.every((e) => !e.sealed));
  for (const e of long) await e.seal();
  assert.equal(await uploader.drain(20_000), true);
  assert.equal(uploaded.length, 22);
});

test("a spool whose disk fills mid-segment: the store is not blamed, and what reached the disk is uploaded, cut to whole chunks, once the spool can write again", async (t) => {
  const disk = await smallDisk(t, 4 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const root = await mkdtemp(join(tmpdir(), 'recgw-upload-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), probeMs: 50 });
  const store = new FsStore({ dir: join(root, 'store') });
  const CHUNK = 4000;
  // As the pipeline's own hook cuts a torn record: here every chunk is CHUNK bytes.
  const recover = async (entry: SpoolEntry): Promise<void> => entry.truncate(entry.size - (entry.size % CHUNK));
  const uploader = new Uploader({ spool, store, backoff: { initialMs: 5, maxMs: 40 }, liveReadBytes: 1, recover });
  t.after(() => uploader.stop());
  await uploader.start();
  const failures = record(uploader, 'failed');

  await disk.fill(18 << 10);
  const entry = spool.create(meta('full'));
  for (let i = 0; i < 12; i++) entry.append(Buffer.alloc(CHUNK, i + 1));
  await until(() => spool.fault !== undefined, 'the spool to fault');
  await sleep(300);
  assert.deepEqual(failures, [], 'no upload failure is counted against the store');
  assert.equal(uploader.stats.failuresSinceSuccess, 0);

  await disk.free();
  await until(() => spool.entries().length === 0, 'the entry to be uploaded and removed');
  const stored = await objectBytes(store, entry.meta.key);
  assert.ok(stored.length >= CHUNK && stored.length % CHUNK === 0, `whole chunks only (${stored.length} bytes)`);
  for (let i = 0; i < stored.length / CHUNK; i++) assert.ok(stored.subarray(i * CHUNK, (i + 1) * CHUNK).every((b) => b === i + 1), `chunk ${i} as appended`);
  assert.equal(uploader.stats.uploaded, 1);
});
