import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsStore } from '../../src/storage/fs.js';
import { StorageError, type ListedObject } from '../../src/storage/store.js';

async function storeDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-fs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'objects');
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function collect(it: AsyncIterable<ListedObject>): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const o of it) out.push(o);
  return out;
}

async function until(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function isCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

const tags = { line: 'sales', operator: '2001', started: '2024-05-01T10:00:00.000Z', leg: 'caller', 'call-id': 'abc@host', direction: 'inbound', retention: '90' };

test('put, head, get, list and delete round-trip objects with their tags', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  assert.equal(store.kind, 'fs');
  const a = Buffer.from('first object');
  const b = Buffer.alloc(300_000, 7);
  const c = Buffer.from('other prefix');
  const putA = await store.put('calls/2024/05/a.rgw', a, { tags, contentType: 'application/octet-stream' });
  assert.deepEqual(putA, { key: 'calls/2024/05/a.rgw', size: a.length, sha256: sha(a) });
  // A stream in several chunks, with the expected digest given up front.
  const putB = await store.put('calls/2024/05/b.rgw', Readable.from([b.subarray(0, 1000), b.subarray(1000)]), { tags: {}, size: b.length, sha256: sha(b) });
  assert.equal(putB.sha256, sha(b));
  await store.put('calls/2024/06/c.rgw', c, { tags: {} });

  const info = await store.head('calls/2024/05/a.rgw');
  assert.ok(info);
  assert.equal(info.size, a.length);
  assert.equal(info.sha256, sha(a));
  assert.deepEqual(info.tags, tags);
  assert.equal(info.metadata['content-type'], 'application/octet-stream');
  assert.equal(info.metadata['call-id'], 'abc@host');
  assert.ok(info.lastModified instanceof Date);
  assert.deepEqual(await readAll(await store.get('calls/2024/05/b.rgw')), b);

  const all = await collect(store.list(''));
  assert.deepEqual(
    all.map((o) => o.key),
    ['calls/2024/05/a.rgw', 'calls/2024/05/b.rgw', 'calls/2024/06/c.rgw'],
    'sidecars are not listed',
  );
  assert.deepEqual(all[1], { key: 'calls/2024/05/b.rgw', size: b.length }, 'keys and sizes: a digest is head\'s');
  assert.deepEqual((await collect(store.list('calls/2024/05/'))).map((o) => o.key), ['calls/2024/05/a.rgw', 'calls/2024/05/b.rgw']);
  assert.deepEqual((await collect(store.list('calls/2024/0'))).length, 3, 'a prefix need not end at a folder');
  assert.deepEqual((await collect(store.list('calls/2024/05/b'))).map((o) => o.key), ['calls/2024/05/b.rgw']);
  assert.deepEqual(await collect(store.list('nothing/here')), []);
  assert.deepEqual(await store.folders(''), ['calls']);
  assert.deepEqual(await store.folders('calls/2024/'), ['05', '06'], 'the folders directly under the prefix, not their files');
  assert.deepEqual(await store.folders('calls/2024/05/'), [], 'files only');
  assert.deepEqual(await store.folders('nothing/'), []);
  await assert.rejects(store.folders('calls/20'), isCode('STORE_REJECTED'));
  await assert.rejects(store.folders('../'), isCode('STORE_REJECTED'));

  await store.delete('calls/2024/05/a.rgw');
  await store.delete('calls/2024/05/a.rgw');
  assert.equal(await store.head('calls/2024/05/a.rgw'), null);
  await assert.rejects(store.get('calls/2024/05/a.rgw'), isCode('NOT_FOUND'));
  assert.deepEqual(await readdir(join(dir, 'calls/2024/05')), ['b.rgw', 'b.rgw.meta.json'], 'object and sidecar both gone');
});

test('a put in progress is invisible: head and list show nothing until the object is complete', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  const body = new PassThrough();
  const put = store.put('live/seg.rgw', body, { tags: { leg: 'agent' } });
  body.write(Buffer.alloc(5000, 1));
  const tempFile = async (): Promise<string | undefined> => {
    const names = await readdir(join(dir, 'live')).catch(() => [] as string[]);
    return names.find((n) => n.endsWith('.tmp'));
  };
  await until(async () => {
    const tmp = await tempFile();
    return tmp !== undefined && (await stat(join(dir, 'live', tmp))).size === 5000;
  }, 'the first bytes in the temp file');
  assert.equal(await store.head('live/seg.rgw'), null);
  assert.deepEqual(await collect(store.list('')), []);
  await assert.rejects(store.get('live/seg.rgw'), isCode('NOT_FOUND'));
  body.end(Buffer.alloc(3000, 2));
  const stored = await put;
  assert.equal(stored.size, 8000);
  assert.equal((await store.head('live/seg.rgw'))?.size, 8000);
  assert.equal(await tempFile(), undefined, 'the temp file was renamed into place');
});

test('a size or SHA-256 that differs from what was streamed is VERIFY_FAILED and leaves nothing behind', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  const data = Buffer.from('the real bytes');
  await assert.rejects(store.put('v/a', data, { tags: {}, sha256: sha(Buffer.from('other bytes')) }), isCode('VERIFY_FAILED'));
  await assert.rejects(store.put('v/a', Readable.from([data]), { tags: {}, size: data.length + 1 }), isCode('VERIFY_FAILED'));
  assert.equal(await store.head('v/a'), null);
  assert.deepEqual(await readdir(join(dir, 'v')), [], 'no object, sidecar or temp file');
  // The right digest, in upper case, is accepted.
  await store.put('v/a', data, { tags: {}, size: data.length, sha256: sha(data).toUpperCase() });
  assert.equal((await store.head('v/a'))?.sha256, sha(data));
});

test('an aborted put rejects and removes its temp file', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  const body = new PassThrough();
  const ac = new AbortController();
  const put = store.put('a/b', body, { tags: {}, signal: ac.signal });
  body.write(Buffer.alloc(100));
  await until(async () => (await readdir(join(dir, 'a')).catch(() => [])).length > 0, 'the temp file');
  ac.abort();
  await assert.rejects(put, isCode('STORE_UNAVAILABLE'));
  assert.deepEqual(await readdir(join(dir, 'a')), []);
  await assert.rejects(store.put('a/b', Buffer.from('x'), { tags: {}, signal: ac.signal }), isCode('STORE_UNAVAILABLE'));
});

test('keys that could escape the store directory or collide with its own files are rejected', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  const bad = ['', '../outside', 'a/../../b', 'a/./b', '/etc/passwd', 'a//b', 'a/', '.hidden', 'a/.tmp', 'x.meta.json', 'a\\b', 'nul\0', 'x'.repeat(201)];
  for (const key of bad) {
    await assert.rejects(store.put(key, Buffer.from('x'), { tags: {} }), isCode('STORE_REJECTED'), `put ${JSON.stringify(key)}`);
    await assert.rejects(store.head(key), isCode('STORE_REJECTED'), `head ${JSON.stringify(key)}`);
    await assert.rejects(store.get(key), isCode('STORE_REJECTED'), `get ${JSON.stringify(key)}`);
    await assert.rejects(store.delete(key), isCode('STORE_REJECTED'), `delete ${JSON.stringify(key)}`);
  }
  await assert.rejects(collect(store.list('../')), isCode('STORE_REJECTED'));
  await assert.rejects(stat(dir), 'nothing was created');
});

test('folders are created 0700 and objects and sidecars 0600', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  await store.put('deep/er/obj', Buffer.from('secret-ish'), { tags: {} });
  for (const d of [dir, join(dir, 'deep'), join(dir, 'deep/er')]) {
    assert.equal((await stat(d)).mode & 0o777, 0o700, d);
  }
  for (const f of ['deep/er/obj', 'deep/er/obj.meta.json']) {
    assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
  }
});

test('a delete removes the folders it emptied, up to the store root, and a put there makes them again', async (t) => {
  const dir = await storeDir(t);
  const store = new FsStore({ dir });
  await store.put('sales/2024/05/01/call-a/caller-1.rec', Buffer.from('a'), { tags });
  await store.put('sales/2024/05/02/call-b/caller-1.rec', Buffer.from('b'), { tags });

  await store.delete('sales/2024/05/01/call-a/caller-1.rec');
  assert.deepEqual(await readdir(join(dir, 'sales', '2024', '05')), ['02'], 'the call and day folders went; the month still holds a day');
  await store.delete('sales/2024/05/02/call-b/caller-1.rec');
  assert.deepEqual(await readdir(dir), [], 'everything up to the root went; the root stays');

  await store.put('sales/2024/05/01/call-a/caller-1.rec', Buffer.from('again'), { tags });
  assert.equal((await readAll(await store.get('sales/2024/05/01/call-a/caller-1.rec'))).toString(), 'again');
});
