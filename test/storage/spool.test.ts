import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RecgwError } from '../../src/errors.js';
import { Spool, type SpoolEntry, type SpoolEntryMeta, type SpoolFault } from '../../src/storage/spool.js';
import { captureLog } from '../helpers/log.js';
import { smallDisk } from '../helpers/small-disk.js';
import { openSpool } from '../helpers/spool.js';

async function spoolDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-spool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'spool');
}


function meta(n: number): SpoolEntryMeta {
  return { key: `calls/c${n}/caller-1.rgw`, tags: { leg: 'caller', 'call-id': `c${n}` }, callId: `c${n}`, kind: 'audio' };
}

async function until(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Collects a tail's bytes as they come, so a test can wait for a given amount. */
function reader(tail: Readable): { bytes: () => Buffer; ended: Promise<Buffer> } {
  const parts: Buffer[] = [];
  tail.on('data', (c: Buffer) => parts.push(c));
  const ended = new Promise<Buffer>((resolve, reject) => {
    tail.on('end', () => resolve(Buffer.concat(parts)));
    tail.on('error', reject);
  });
  return { bytes: () => Buffer.concat(parts), ended };
}

const sizeOf = async (path: string): Promise<number> => (await stat(path).catch(() => ({ size: -1 }))).size;

test('a tail streams the bytes while they are appended and ends after seal', async (t) => {
  const dir = await spoolDir(t);
  const spool = await openSpool(t, { dir });
  const created: string[] = [];
  const sealed: string[] = [];
  spool.on('entry', (e) => created.push(e.id));
  spool.on('sealed', (e) => sealed.push(e.id));
  const entry = spool.create(meta(1));
  assert.deepEqual(created, [entry.id], "'entry' is emitted on create");
  const tail = reader(entry.tail()); // before the file even exists
  const first = Buffer.from('first chunk, ');
  entry.append(first);
  await until(() => tail.bytes().length === first.length, 'the first chunk through the tail');
  assert.deepEqual(tail.bytes(), first);
  let ended = false;
  void tail.ended.then(() => (ended = true));
  const second = Buffer.from('second chunk');
  entry.append(second);
  await until(() => tail.bytes().length === first.length + second.length, 'the second chunk');
  assert.equal(ended, false, 'an unsealed entry keeps the tail open');
  assert.equal(entry.sealed, false);
  assert.deepEqual(sealed, []);
  await entry.seal();
  assert.equal(entry.sealed, true);
  await entry.seal();
  assert.deepEqual(sealed, [entry.id], "'sealed' is emitted once, when the marker is down");
  assert.deepEqual(await tail.ended, Buffer.concat([first, second]));
  // A tail opened after the seal reads the whole entry and ends.
  assert.deepEqual(await reader(entry.tail()).ended, Buffer.concat([first, second]));

  assert.deepEqual((await readdir(dir)).sort(), [`${entry.id}.json`, `${entry.id}.seg`, `${entry.id}.sealed`].sort());
  assert.deepEqual(JSON.parse(await readFile(join(dir, `${entry.id}.json`), 'utf8')), meta(1));
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  for (const ext of ['json', 'seg', 'sealed']) assert.equal((await stat(join(dir, `${entry.id}.${ext}`))).mode & 0o777, 0o600, ext);
  assert.throws(
    () => entry.append(Buffer.from('late')),
    (err: unknown) => err instanceof RecgwError && err.code === 'SPOOL_ENTRY_CLOSED',
  );
});

test('a tail with minBytes reads once that much is waiting, and everything once the entry is sealed', async (t) => {
  const dir = await spoolDir(t);
  const spool = await openSpool(t, { dir });
  const entry = spool.create(meta(11));
  const tail = reader(entry.tail({ minBytes: 100 }));
  const small = Buffer.alloc(40, 1);
  entry.append(small);
  await until(async () => (await sizeOf(entry.path)) === 40, 'the 40 bytes on disk');
  await sleep(50);
  assert.equal(tail.bytes().length, 0, 'fewer than minBytes on disk: nothing read yet');
  const more = Buffer.alloc(70, 2);
  entry.append(more);
  await until(() => tail.bytes().length === 110, 'the 110 bytes once 100 or more were waiting');
  const last = Buffer.alloc(10, 3);
  entry.append(last);
  await until(async () => (await sizeOf(entry.path)) === 120, 'the last 10 bytes on disk');
  await sleep(50);
  assert.equal(tail.bytes().length, 110, 'the last 10 bytes wait');
  await entry.seal();
  assert.deepEqual(await tail.ended, Buffer.concat([small, more, last]), 'the seal lets the rest through');
});

test('many small appends land in order, each copied when appended', async (t) => {
  const dir = await spoolDir(t);
  const spool = await openSpool(t, { dir });
  const entry = spool.create(meta(2));
  const early = reader(entry.tail());
  const expected: Buffer[] = [];
  const scratch = Buffer.alloc(64);
  let late: ReturnType<typeof reader> | null = null;
  for (let i = 0; i < 5000; i++) {
    const len = 1 + (i % 50);
    scratch.fill(i % 251, 0, len);
    scratch.writeUInt16BE(i & 0xffff, 0);
    expected.push(Buffer.from(scratch.subarray(0, len)));
    entry.append(scratch.subarray(0, len)); // the caller reuses its buffer at once
    if (i === 2500) late = reader(entry.tail());
    if (i % 1000 === 0) await sleep(1); // let the writer run between bursts
  }
  const all = Buffer.concat(expected);
  assert.equal(entry.size, all.length);
  await entry.seal();
  assert.deepEqual(await readFile(entry.path), all);
  assert.deepEqual(await early.ended, all);
  assert.ok(late);
  assert.deepEqual(await late.ended, all, 'a tail opened midway still starts at the first byte');
});

test('usedBytes counts appended bytes, full says when maxBytes is reached, remove gives them back', async (t) => {
  const dir = await spoolDir(t);
  const spool = await openSpool(t, { dir, maxBytes: 1000 });
  const a = spool.create(meta(1));
  const b = spool.create(meta(2));
  a.append(Buffer.alloc(600));
  assert.equal(spool.usedBytes, 600, 'counted at append, before the write');
  assert.equal(spool.full, false);
  b.append(Buffer.alloc(400));
  assert.equal(spool.usedBytes, 1000);
  assert.equal(spool.full, true);
  b.append(Buffer.alloc(10));
  assert.equal(spool.usedBytes, 1010, 'a full spool still takes appends: the caller decides');
  await a.seal();
  await a.remove();
  await a.remove();
  assert.equal(spool.usedBytes, 410);
  assert.equal(spool.full, false);
  assert.deepEqual(spool.entries(), [b]);
  assert.ok(!(await readdir(dir)).some((n) => n.startsWith(a.id)), 'every file of the removed entry is gone');
  assert.throws(() => a.append(Buffer.from('x')), /removed/);
});

test('reopening after a crash finds sealed entries as they were and unsealed ones as recovered', async (t) => {
  const dir = await spoolDir(t);
  const before = await openSpool(t, { dir });
  const done = before.create(meta(1));
  done.append(Buffer.from('complete segment'));
  const sealing = Date.now();
  await done.seal();
  const sealedAt = done.sealedAt;
  assert.ok(sealedAt !== undefined && sealedAt >= sealing && sealedAt <= Date.now(), 'sealedAt: when it was sealed');
  // As if sealed an hour before the crash: the time comes back from the marker.
  const hourAgo = new Date(sealedAt - 3_600_000);
  await utimes(join(dir, `${done.id}.sealed`), hourAgo, hourAgo);
  const live = before.create(meta(2));
  const liveBytes = Buffer.alloc(20_000, 0x5a);
  live.append(liveBytes.subarray(0, 12_000));
  live.append(liveBytes.subarray(12_000));
  const empty = before.create(meta(3));
  await until(async () => (await sizeOf(live.path)) === liveBytes.length && (await sizeOf(empty.path)) === 0, 'the writes on disk');
  // Debris a crash can leave: a temp file of an atomic write, the files of a half-done remove.
  await writeFile(join(dir, `.${live.id}.json.0123456789ab.tmp`), '{');
  await writeFile(join(dir, '0000000aa-0123456789ab.seg'), 'already uploaded');
  await writeFile(join(dir, '0000000aa-0123456789ab.sealed'), '{"size":16}');
  // The first spool is dropped without seal or close, as a kill -9 would leave it.

  const after = new Spool({ dir, maxBytes: 1 << 30 });
  await after.open();
  t.after(() => after.close());
  const found = after.entries();
  const recovered = found[1];
  assert.ok(recovered);
  assert.deepEqual(
    found.map((e) => [e.id, e.sealed, e.recovered, e.size, e.sealedAt]),
    [
      [done.id, true, false, 16, hourAgo.getTime()],
      [live.id, false, true, liveBytes.length, undefined],
      [empty.id, false, true, 0, undefined],
    ],
  );
  assert.deepEqual(found[1]?.meta, meta(2));
  assert.equal(after.usedBytes, 16 + liveBytes.length);
  const names = await readdir(dir);
  assert.ok(!names.some((n) => n.endsWith('.tmp') || n.startsWith('0000000aa')), `debris removed: ${names.join(' ')}`);

  // Recovery cuts the torn tail, then seals; the tail shows exactly what is kept.
  await assert.rejects(recovered.truncate(liveBytes.length + 1), RangeError);
  await recovered.truncate(15_000);
  assert.equal(recovered.size, 15_000);
  assert.equal(after.usedBytes, 16 + 15_000);
  assert.equal(await sizeOf(recovered.path), 15_000);
  await recovered.seal();
  assert.deepEqual(await reader(recovered.tail()).ended, liveBytes.subarray(0, 15_000));
  await before.close();
});

test('after a real kill -9 mid-write, a new spool recovers what reached the disk', async (t) => {
  const dir = await spoolDir(t);
  const spoolModule = fileURLToPath(new URL('../../src/storage/spool.ts', import.meta.url));
  // The child writes one sealed and one live entry, says so once the bytes are on disk, and waits to be killed.
  const script = `
    import { stat } from 'node:fs/promises';
    const { Spool } = await import(process.argv[1]);
    const spool = new Spool({ dir: process.argv[2], maxBytes: 1e9 });
    await spool.open();
    const sealed = spool.create({ key: 'k/sealed', tags: {}, callId: 'c1', kind: 'manifest' });
    sealed.append(Buffer.from('{"manifest":true}'));
    await sealed.seal();
    const live = spool.create({ key: 'k/live', tags: { leg: 'agent' }, callId: 'c2', kind: 'audio' });
    for (let i = 0; i < 100; i++) live.append(Buffer.alloc(160, i));
    while ((await stat(live.path).catch(() => ({ size: 0 }))).size < 16000) await new Promise((r) => setTimeout(r, 5));
    process.stdout.write('written\\n');
    setInterval(() => live.append(Buffer.alloc(160, 0xff)), 1);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, spoolModule, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('written')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  child.kill('SIGKILL');
  assert.equal(await exited, null);

  const spool = await openSpool(t, { dir });
  const [sealed, live] = spool.entries();
  assert.ok(sealed && live);
  assert.deepEqual([sealed.meta.key, sealed.sealed, sealed.recovered], ['k/sealed', true, false]);
  assert.deepEqual(await reader(sealed.tail()).ended, Buffer.from('{"manifest":true}'));
  assert.deepEqual([live.meta.key, live.sealed, live.recovered], ['k/live', false, true]);
  const bytes = await readFile(live.path);
  assert.ok(bytes.length >= 16000, `at least what the child saw on disk (${bytes.length})`);
  for (let i = 0; i < 100; i++) assert.ok(bytes.subarray(i * 160, (i + 1) * 160).every((b) => b === i), `chunk ${i} in order`);
  assert.ok(bytes.subarray(16000).every((b) => b === 0xff), 'later appends were whole bytes of later chunks');
  assert.equal(live.size, bytes.length);
});

/** Read through a call: TypeScript keeps an asserted property narrowed across awaits that change it. */
const faultOf = (spool: Spool): SpoolFault | undefined => spool.fault;

test('a disk that fills under the spool faults it (recordings refused), keeps what reached the disk, and hands it back once a test write succeeds', async (t) => {
  const disk = await smallDisk(t, 4 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), probeMs: 50 });
  assert.ok(!faultOf(spool), 'room for the start-up test write');

  await disk.fill(16 << 10);
  const entry = spool.create(meta(1));
  for (let i = 0; i < 12; i++) entry.append(Buffer.alloc(4000, i + 1));
  await until(() => faultOf(spool) !== undefined, 'the spool to fault');
  assert.equal(faultOf(spool)?.code, 'ENOSPC');
  assert.equal(spool.failedEntries, 1);
  assert.equal(entry.failed, true);
  // What never reached the disk is not counted as held; later appends are dropped, not thrown at the capture.
  assert.ok(entry.size < 12 * 4000, `holds ${entry.size} of ${12 * 4000} bytes`);
  assert.equal(spool.usedBytes, entry.size);
  entry.append(Buffer.alloc(4000, 0xee));
  assert.equal(spool.usedBytes, entry.size);
  // The probe keeps failing while the disk is full: the fault stays.
  await sleep(200);
  assert.ok(faultOf(spool), 'still faulted while the disk is full');

  const handedBack: SpoolEntry[] = [];
  spool.on('entry', (e) => handedBack.push(e));
  await disk.free();
  // Polled: the spool's probe timer is unref'd, so it alone would not keep the test's process running.
  await until(() => handedBack.length > 0, 'the failed entry to be handed back');
  const [back] = handedBack;
  assert.ok(back);
  assert.ok(!faultOf(spool), 'writable again');
  assert.deepEqual([back.id, back.meta.key, back.recovered, back.sealed, back.failed], [entry.id, entry.meta.key, true, false, false]);
  const onDisk = await readFile(back.path);
  assert.equal(back.size, onDisk.length);
  assert.ok(onDisk.length > 0 && onDisk.length <= 16 << 10, `what reached the disk (${onDisk.length} bytes)`);
  for (let i = 0; i < Math.floor(onDisk.length / 4000); i++) {
    assert.ok(onDisk.subarray(i * 4000, (i + 1) * 4000).every((b) => b === i + 1), `chunk ${i} as appended`);
  }
  assert.deepEqual(spool.entries(), [back]);
  assert.equal(spool.usedBytes, back.size);

  const next = spool.create(meta(2));
  next.append(Buffer.alloc(4000, 7));
  await next.seal();
  assert.equal(faultOf(spool), undefined);
});

test('a spool opened on a full disk starts faulted, before any recording is lost to it', async (t) => {
  const disk = await smallDisk(t, 2 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  await disk.fill(64 << 10);
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), probeMs: 50 });
  assert.equal(faultOf(spool)?.code, 'ENOSPC');
  assert.equal(spool.failedEntries, 0);
  await disk.free();
  await until(() => faultOf(spool) === undefined, 'the fault to clear');
  assert.deepEqual(await readdir(spool.dir), [], 'the test write leaves nothing behind');
});

test('a disk with less free than the reserve makes the spool low (before any write fails), and room again clears it', async (t) => {
  const disk = await smallDisk(t, 8 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), minFreeBytes: 4 << 20, probeMs: 50 });
  assert.equal(spool.low, false);
  assert.ok(spool.diskFreeBytes > 4 << 20 && spool.diskFreeBytes <= 8 << 20, `free space read (${spool.diskFreeBytes})`);
  await disk.fill(3 << 20);
  await until(() => spool.low, 'the spool to be low');
  // An entry already being written goes on into the reserve.
  const entry = spool.create(meta(1));
  entry.append(Buffer.alloc(1 << 20, 1));
  await entry.seal();
  assert.equal(faultOf(spool), undefined, 'nothing failed: the reserve took it');
  await disk.free();
  await until(() => !spool.low, 'room again');
});

test('a spool whose limit its disk cannot hold says so once at start', async (t) => {
  const disk = await smallDisk(t, 8 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const { logger, entries } = captureLog();
  await openSpool(t, { dir: join(disk.dir, 'spool'), minFreeBytes: 1 << 20, logger });
  const warned = entries().filter((l) => l['level'] === 40);
  assert.equal(warned.length, 1);
  assert.match(String(warned[0]?.['msg']), /spool\.maxBytes is more than its disk can hold/);
  assert.ok(Number(warned[0]?.['roomBytes']) <= 7 << 20, 'what the disk can hold beside the reserve');

  await openSpool(t, { dir: join(disk.dir, 'spool2'), maxBytes: 1 << 20, minFreeBytes: 1 << 20, logger });
  assert.equal(entries().filter((l) => l['level'] === 40).length, 1, 'no warning for a limit that fits');
});
