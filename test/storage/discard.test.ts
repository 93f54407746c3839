/**
 * Discarding an opted-out call: a real spool, uploader and FsStore, behind a
 * wrapper that can refuse deletes (a store that is down) or puts. What was
 * discarded leaves the spool, is deleted from the store (retried until the
 * store takes it), and is never uploaded again; other calls are not held up.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Discarder } from '../../src/storage/discard.js';
import { FsStore } from '../../src/storage/fs.js';
import { DISCARD_PENDING_FILE, Spool, type SpoolEntryMeta } from '../../src/storage/spool.js';
import { Uploader } from '../../src/storage/uploader.js';
import { FlakyStore } from '../helpers/flaky-store.js';

interface Rig {
  readonly spool: Spool;
  readonly store: FlakyStore;
  readonly uploader: Uploader;
  readonly discarder: Discarder;
}

async function rig(t: TestContext): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-discard-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spool = new Spool({ dir: join(dir, 'spool'), maxBytes: 1 << 30 });
  await spool.open();
  t.after(() => spool.close());
  const store = new FlakyStore(new FsStore({ dir: join(dir, 'store') }));
  const backoff = { initialMs: 5, maxMs: 40 };
  const uploader = new Uploader({ spool, store, backoff });
  t.after(() => uploader.stop());
  await uploader.start();
  return { spool, store, uploader, discarder: new Discarder({ uploader, store, backoff }) };
}

function meta(callId: string, leg: string): SpoolEntryMeta {
  const tags = { line: 'sales', operator: '2001', started: '2024-05-01T10:00:00.000Z', leg, 'call-id': callId, direction: 'inbound', retention: '30' };
  return { key: `sales/2024/05/01/${callId}/${leg}-1.rec`, tags, callId, kind: 'audio' };
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a delete the store refuses is retried with backoff until the store takes it', async (t) => {
  const r = await rig(t);
  const keys = [meta('c1', 'caller').key, meta('c1', 'agent').key];
  for (const key of keys) await r.store.inner.put(key, randomBytes(2000), { tags: {} });
  r.store.failDeletes = 5;

  const result = await r.discarder.discard(keys);
  assert.deepEqual(result, { spool: 0, store: 0, pending: 2, refused: 0 }, 'both deletes refused at first: the discard does not fail');
  assert.equal(r.discarder.pending, 2);
  await until('the store took every delete', () => r.discarder.pending === 0);
  for (const key of keys) assert.equal(await r.store.head(key), null, `${key} is gone`);
  assert.equal(r.store.deleteAttempts, 7, 'five refused, then one each');

  // Discarding again (a second request for the same call) finds nothing and owes nothing.
  assert.deepEqual(await r.discarder.discard(keys), { spool: 0, store: 2, pending: 0, refused: 0 });
});

test('entries still in the spool are dropped, and never uploaded once the store is back', async (t) => {
  const r = await rig(t);
  r.store.down = true;
  const dropped = r.spool.create(meta('c2', 'caller'));
  dropped.append(randomBytes(4000));
  await dropped.seal();
  await until('an upload was tried', () => r.store.putKeys.includes(dropped.meta.key));

  const result = await r.discarder.discard([dropped.meta.key]);
  assert.deepEqual(result, { spool: 1, store: 1, pending: 0, refused: 0 });
  assert.deepEqual(r.spool.entries(), []);

  // The store comes back: another call's entry is uploaded, the dropped one is not.
  r.store.down = false;
  const kept = r.spool.create(meta('c3', 'caller'));
  kept.append(randomBytes(4000));
  await kept.seal();
  assert.equal(await r.uploader.drain(10_000), true);
  assert.ok(await r.store.head(kept.meta.key), 'the other call is stored');
  assert.equal(await r.store.head(dropped.meta.key), null, 'the discarded one never is');
  // A late entry under a discarded key (a writer still closing) is dropped on sight.
  r.spool.create(meta('c2', 'caller'));
  await until('the late entry is removed', () => r.spool.entries().length === 0);
  assert.equal(await r.store.head(dropped.meta.key), null);
});

test('an upload of a discarded call under way is cut off and leaves nothing in the store', async (t) => {
  const r = await rig(t);
  const live = r.spool.create(meta('c4', 'caller'));
  live.append(randomBytes(8000));
  await until('the tail upload started', () => r.store.putKeys.includes(live.meta.key));

  const result = await r.discarder.discard([live.meta.key]);
  assert.deepEqual(result, { spool: 1, store: 1, pending: 0, refused: 0 });
  assert.deepEqual(r.spool.entries(), []);
  assert.equal(await r.store.head(live.meta.key), null);
  let listed = 0;
  for await (const o of r.store.list('')) listed += o.size >= 0 ? 1 : 0;
  assert.equal(listed, 0, 'no object, no partial object');
});

test("a discard does not wait for other calls' uploads still streaming", { timeout: 20_000 }, async (t) => {
  const r = await rig(t);
  // Another call, still running: its tail upload holds its slot until the entry is sealed.
  const other = r.spool.create(meta('c5', 'caller'));
  other.append(randomBytes(8000));
  await until('the other call streams', () => r.store.putKeys.includes(other.meta.key));
  const mine = r.spool.create(meta('c6', 'caller'));
  mine.append(randomBytes(8000));
  await mine.seal();

  // Resolves while the other call's entry is still open (were it to wait, this test would time out).
  const result = await r.discarder.discard([mine.meta.key]);
  assert.equal(result.pending, 0);
  assert.equal(other.sealed, false);
  assert.equal(await r.store.head(mine.meta.key), null);

  other.append(randomBytes(8000));
  await other.seal();
  assert.equal(await r.uploader.drain(10_000), true);
  assert.equal((await r.store.head(other.meta.key))?.size, 16_000, 'the other call is stored whole');
});

test('deletes still owed when the gateway stops are taken up by the next start', async (t) => {
  const r = await rig(t);
  const pendingFile = join(r.spool.dir, DISCARD_PENDING_FILE);
  const first = new Discarder({ uploader: r.uploader, store: r.store, backoff: { initialMs: 60_000, maxMs: 60_000 }, pendingFile });
  const key = meta('c7', 'caller').key;
  await r.store.inner.put(key, randomBytes(2000), { tags: {} });
  r.store.failDeletes = 1;
  assert.deepEqual(await first.discard([key]), { spool: 0, store: 0, pending: 1, refused: 0 });
  // The first run "stops" here: its retry would come a minute later, never.
  assert.deepEqual(JSON.parse(await readFile(pendingFile, 'utf8')), [key]);

  const next = new Discarder({ uploader: r.uploader, store: r.store, backoff: { initialMs: 5, maxMs: 40 }, pendingFile });
  assert.equal(await next.start(), 1, 'the owed delete is picked up');
  await until('the owed delete went through', () => next.pending === 0);
  assert.equal(await r.store.head(key), null);
  await until('the list is emptied', async () => (JSON.parse(await readFile(pendingFile, 'utf8')) as unknown[]).length === 0);
  // The spool does not take the list for debris or an entry.
  const reopened = new Spool({ dir: r.spool.dir, maxBytes: 1 << 30 });
  await reopened.open();
  assert.deepEqual(reopened.entries(), []);
  await reopened.close();
});

test('an object the store refuses to delete for good (Object Lock) is reported, not retried forever', async (t) => {
  const r = await rig(t);
  const key = meta('c8', 'caller').key;
  await r.store.inner.put(key, randomBytes(2000), { tags: {} });
  r.store.rejectDeletes = true;
  assert.deepEqual(await r.discarder.discard([key]), { spool: 0, store: 0, pending: 0, refused: 1 });
  assert.equal(r.discarder.pending, 0, 'nothing left to retry');
  await sleep(100);
  assert.equal(r.store.deleteAttempts, 1, 'asked once');
  assert.ok(await r.store.head(key), 'the retained object is still there, and the result says so');
});
