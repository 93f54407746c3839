/**
 * The S3 store against a real S3 server (Ceph RGW on loopback): tags, multipart
 * streaming while the segment is written, verification, paging, Object Lock,
 * authentication and outages.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { AuditEntry, AuditSink } from '../../src/access/audit.js';
import { silentLogger } from '../../src/ops/log.js';
import { newCallId } from '../../src/recording/call-id.js';
import { recordingTags } from '../../src/recording/layout.js';
import { Holds } from '../../src/retention/holds.js';
import { legalHoldOnUpload, RetentionService } from '../../src/retention/service.js';
import { sweepExpired } from '../../src/retention/sweep.js';
import { S3Store, type S3StoreOptions } from '../../src/storage/s3.js';
import { Spool } from '../../src/storage/spool.js';
import { StorageError, type RecordingTags } from '../../src/storage/store.js';
import { Uploader } from '../../src/storage/uploader.js';
import { s3ServerAvailable, startS3Server, type S3Server } from '../helpers/s3-server.js';

const skip = s3ServerAvailable() ? false : 'Ceph RGW (radosgw ceph-mon ceph-osd) is not installed: run node scripts/ensure-deps.mjs';
const BUCKET = 'recordings';
const LOCKED = 'recordings-locked';
const MiB = 1024 * 1024;

let server: S3Server;
let startedInMs = 0;
let bucketsInMs = 0;
let raw: S3Client;
const stores: S3Store[] = [];

before(async () => {
  if (skip) return;
  const t0 = Date.now();
  server = await startS3Server();
  startedInMs = Date.now() - t0;
  const t1 = Date.now();
  await server.createBucket(BUCKET);
  await server.createBucket(LOCKED, { objectLock: true });
  bucketsInMs = Date.now() - t1;
  raw = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

after(async () => {
  for (const s of stores) s.close();
  raw?.destroy();
  await server?.shutdown();
});

function store(opts: Partial<S3StoreOptions> = {}): S3Store {
  const s = new S3Store({
    bucket: BUCKET,
    prefix: 'rec',
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...opts,
  });
  stores.push(s);
  return s;
}

/** The seven tags of a recording object. */
function tags(callId: string): Record<string, string> {
  const t: RecordingTags = { line: '1000', operator: 'alice', started: '2026-11-23T09:00:00.000Z', leg: 'caller', 'call-id': callId, direction: 'inbound', retention: '90' };
  return { ...t };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<StorageError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}, it resolved`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

/** Parts the server already holds for an unfinished multipart upload of `key`. */
async function partsInProgress(bucket: string, key: string): Promise<number> {
  const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  const upload = uploads.Uploads?.find((u) => u.Key === key);
  if (!upload?.UploadId) return 0;
  const parts = await raw.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }));
  return parts.Parts?.length ?? 0;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a Buffer put is tagged, hashed, and read back byte for byte', { skip }, async (t) => {
  t.diagnostic(`RGW started in ${startedInMs} ms; first two buckets (RGW makes its data pools) in ${bucketsInMs} ms`);
  const s = store();
  assert.equal(s.location, `s3://${BUCKET}/rec`);
  const body = randomBytes(100_000);
  const stored = await s.put('2026/11/23/call-1/caller.rec', body, { tags: tags('call-1@pstn'), contentType: 'application/octet-stream' });
  assert.deepEqual(stored, { key: '2026/11/23/call-1/caller.rec', size: body.length, sha256: sha256(body) });

  const info = await s.head('2026/11/23/call-1/caller.rec');
  assert.ok(info);
  assert.equal(info.size, body.length);
  assert.equal(info.sha256, sha256(body));
  assert.deepEqual(info.tags, tags('call-1@pstn'));
  assert.deepEqual(info.metadata, { ...tags('call-1@pstn'), sha256: sha256(body) });
  assert.deepEqual(await readAll(await s.get('2026/11/23/call-1/caller.rec')), body);

  // The prefix is the store's own: the server holds the object under it.
  const direct = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'rec/2026/11/23/call-1/caller.rec' }));
  assert.equal(direct.ContentLength, body.length);
});

test('a slowly written stream goes up in parts while it is written, then is verified and tagged', { skip }, async () => {
  const s = store();
  const key = 'slow/agent.rec';
  const body = new PassThrough();
  const sent: Buffer[] = [];
  const put = s.put(key, body, { tags: tags('call-2@pstn') });
  // 11 x 512 KiB over about 2 s: more than one 5 MiB part before the segment ends.
  for (let i = 0; i < 11; i++) {
    const chunk = randomBytes(512 * 1024);
    sent.push(chunk);
    body.write(chunk);
    await sleep(180);
  }
  await eventually('a part stored before the segment ended', async () => (await partsInProgress(BUCKET, `rec/${key}`)) >= 1);
  const last = randomBytes(300_000);
  sent.push(last);
  body.end(last);
  const all = Buffer.concat(sent);
  assert.ok(all.length > 5 * MiB);

  const stored = await put;
  assert.deepEqual(stored, { key, size: all.length, sha256: sha256(all) });
  const info = await s.head(key);
  assert.ok(info);
  assert.equal(info.size, all.length);
  assert.equal(info.sha256, sha256(all));
  assert.deepEqual(info.tags, tags('call-2@pstn'));
  assert.deepEqual(info.metadata, { ...tags('call-2@pstn'), sha256: sha256(all) });
  const direct = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `rec/${key}` }));
  assert.match(direct.ETag ?? '', /-2"$/, 'a multipart object of two parts');
  assert.deepEqual(await readAll(await s.get(key)), all);
});

test('list pages through more keys than one page holds, relative to the prefix', { skip }, async () => {
  const s = store({ listPageSize: 2 });
  const expected = new Map<string, number>();
  for (let i = 0; i < 5; i++) {
    const body = randomBytes(1000 + i);
    await s.put(`paged/seg-${i}.rec`, body, { tags: tags(`call-3-${i}`) });
    expected.set(`paged/seg-${i}.rec`, body.length);
  }
  const seen = new Map<string, number>();
  for await (const o of s.list('paged/')) seen.set(o.key, o.size);
  assert.deepEqual(seen, expected);
  const none: string[] = [];
  for await (const o of s.list('nothing-here/')) none.push(o.key);
  assert.deepEqual(none, []);
});

test('folders names the folders directly under a prefix, page by page, relative to the store\'s prefix', { skip }, async () => {
  const s = store({ listPageSize: 2 });
  for (const key of ['tree/a/x.rec', 'tree/b/y.rec', 'tree/b/z/w.rec', 'tree/c/v.rec', 'tree/d/u.rec', 'tree/top.rec']) await s.put(key, Buffer.from(key), { tags: tags('call-5') });
  assert.deepEqual(await s.folders('tree/'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(await s.folders('tree/b/'), ['z']);
  assert.deepEqual(await s.folders('tree/a/'), []);
  assert.deepEqual(await s.folders('nothing-here/'), []);
  assert.ok((await s.folders('')).includes('tree'));
});

test('delete removes the object; head then says null and get NOT_FOUND', { skip }, async () => {
  const s = store();
  await s.put('gone.rec', Buffer.from('segment'), { tags: tags('call-4') });
  assert.ok(await s.head('gone.rec'));
  await s.delete('gone.rec');
  assert.equal(await s.head('gone.rec'), null);
  await rejectsWith(s.get('gone.rec'), 'NOT_FOUND');
  await s.delete('gone.rec');
});

test('a size or sha256 that does not match what was streamed fails VERIFY_FAILED and leaves nothing', { skip }, async () => {
  const s = store();
  const body = randomBytes(10_000);
  await rejectsWith(s.put('lie-buffer.rec', body, { tags: tags('call-5'), sha256: sha256(Buffer.from('other')) }), 'VERIFY_FAILED');
  assert.equal(await s.head('lie-buffer.rec'), null);

  const stream = new PassThrough();
  const put = s.put('lie-stream.rec', stream, { tags: tags('call-5'), sha256: sha256(Buffer.from('other')) });
  stream.end(body);
  await rejectsWith(put, 'VERIFY_FAILED');
  assert.equal(await s.head('lie-stream.rec'), null);

  const sized = new PassThrough();
  const put2 = s.put('lie-size.rec', sized, { tags: tags('call-5'), size: body.length + 1 });
  sized.end(body);
  await rejectsWith(put2, 'VERIFY_FAILED');
  assert.equal(await s.head('lie-size.rec'), null);
});

test('a wrong secret is STORE_REJECTED', { skip }, async () => {
  const s = store({ credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
  const err = await rejectsWith(s.put('denied.rec', Buffer.from('x'), { tags: tags('call-6') }), 'STORE_REJECTED');
  assert.match(err.message, /SignatureDoesNotMatch/);
  await rejectsWith(s.head('denied.rec'), 'STORE_REJECTED');
});

test('Object Lock: the retained version cannot be deleted, and a streamed put leaves one version', { skip }, async () => {
  const s = store({ bucket: LOCKED, objectLock: true, objectLockMode: 'GOVERNANCE' });
  const retainUntil = new Date(Date.now() + 24 * 3600 * 1000);
  await s.put('held.rec', randomBytes(2000), { tags: tags('call-7'), retainUntil });
  const retention = await raw.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'rec/held.rec' }));
  assert.equal(retention.Retention?.Mode, 'GOVERNANCE');
  // Servers keep the date to the second or to the millisecond.
  assert.ok(Math.abs((retention.Retention?.RetainUntilDate?.getTime() ?? 0) - retainUntil.getTime()) < 1000, String(retention.Retention?.RetainUntilDate));
  await rejectsWith(s.delete('held.rec'), 'STORE_REJECTED');
  assert.ok(await s.head('held.rec'));

  // A stream's digest is added by a copy: the unhashed version must not linger in a versioned bucket.
  const stream = new PassThrough();
  const put = s.put('held-stream.rec', stream, { tags: tags('call-8'), retainUntil });
  stream.end(randomBytes(3000));
  const stored = await put;
  const versions = await raw.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: 'rec/held-stream.rec' }));
  assert.equal(versions.Versions?.length, 1);
  const info = await s.head('held-stream.rec');
  assert.equal(info?.sha256, stored.sha256);
  assert.deepEqual(info?.tags, tags('call-8'));

  // Without retention the same store deletes every version.
  await s.put('free.rec', Buffer.from('free'), { tags: tags('call-9') });
  await s.delete('free.rec');
  const left = await raw.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: 'rec/free.rec' }));
  assert.equal((left.Versions?.length ?? 0) + (left.DeleteMarkers?.length ?? 0), 0);
});

test('an aborted put rejects and lets go of the body', { skip }, async () => {
  const s = store();
  const body = new PassThrough();
  const abort = new AbortController();
  const put = s.put('aborted.rec', body, { tags: tags('call-10'), signal: abort.signal });
  body.write(randomBytes(1000));
  abort.abort();
  const err = await rejectsWith(put, 'STORE_UNAVAILABLE');
  assert.match(err.message, /aborted/);
  assert.ok(body.destroyed);
});

test('with RGW down a put fails STORE_UNAVAILABLE, even mid-stream; after restart it works again', { skip, timeout: 60_000 }, async () => {
  const s = store({ maxAttempts: 1, connectTimeoutMs: 1000, requestTimeoutMs: 3000 });
  // A live segment: one part is up when the server goes away, the next fails, and the put must not wait for the segment to end.
  const body = new PassThrough();
  const put = s.put('outage-stream.rec', body, { tags: tags('call-11') });
  body.write(randomBytes(5 * MiB + 1000));
  await eventually('the first part stored', async () => (await partsInProgress(BUCKET, 'rec/outage-stream.rec')) >= 1);
  await server.stop();
  body.write(randomBytes(5 * MiB));
  const err = await rejectsWith(put, 'STORE_UNAVAILABLE');
  assert.doesNotMatch(err.message, /aborted/, 'the failure itself, not the abort it caused');
  assert.ok(body.destroyed, 'the body is released, never ended by the caller');

  await rejectsWith(s.put('outage.rec', Buffer.from('x'), { tags: tags('call-12') }), 'STORE_UNAVAILABLE');
  await rejectsWith(s.head('outage.rec'), 'STORE_UNAVAILABLE');

  await server.restart();
  const stored = await s.put('outage.rec', Buffer.from('back'), { tags: tags('call-12') });
  assert.equal(stored.size, 4);
  assert.deepEqual(await readAll(await s.get('outage.rec')), Buffer.from('back'));
});

test('the uploader streams a growing spool entry to S3, rides out an outage, and locks the object', { skip, timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-s3-spool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spool = new Spool({ dir: join(dir, 'spool'), maxBytes: 1 << 30 });
  await spool.open();
  t.after(() => spool.close());
  const s = store({ bucket: LOCKED, objectLock: true, objectLockMode: 'GOVERNANCE', maxAttempts: 1, connectTimeoutMs: 1000, requestTimeoutMs: 5000 });
  const uploader = new Uploader({ spool, store: s, backoff: { initialMs: 50, maxMs: 300 }, liveReadBytes: 1 });
  t.after(() => uploader.stop());
  const failures: string[] = [];
  uploader.on('failed', (e) => failures.push(e.error.code));
  await uploader.start();

  const retainUntil = new Date(Date.now() + 24 * 3600 * 1000);
  const key = 'spool/call-20/caller-1.rgw';
  const entry = spool.create({ key, tags: tags('call-20@pstn'), retainUntil: retainUntil.toISOString(), callId: 'call-20@pstn', kind: 'audio' });
  const first = randomBytes(5 * MiB + 1000);
  entry.append(first);
  await eventually('a part stored while the entry is still written', async () => (await partsInProgress(LOCKED, `rec/${key}`)) >= 1);

  await server.stop();
  const rest = randomBytes(20_000);
  entry.append(rest);
  await entry.seal();
  await eventually('a failed attempt while RGW is down', () => Promise.resolve(failures.length >= 1));
  assert.deepEqual([...new Set(failures)], ['STORE_UNAVAILABLE']);
  await server.restart();
  assert.equal(await uploader.drain(60_000), true);

  const all = Buffer.concat([first, rest]);
  const info = await s.head(key);
  assert.ok(info);
  assert.equal(info.size, all.length);
  assert.equal(info.sha256, sha256(all));
  assert.deepEqual(info.tags, tags('call-20@pstn'));
  const retention = await raw.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: `rec/${key}` }));
  assert.equal(retention.Retention?.Mode, 'GOVERNANCE');
  assert.deepEqual(spool.entries(), []);
  assert.deepEqual(await readAll(await s.get(key)), all);
});

test('retention with Object Lock: a hold sets the legal hold on every object of the call, stored before or after it, so not even a delete takes it; released, the sweep deletes the expired call', { skip, timeout: 60_000 }, async (t) => {
  const s = store({ bucket: LOCKED, objectLock: true, prefix: 'retention' });
  const DAY = 86_400_000;
  const startedAt = new Date(Date.now() - 100 * DAY);
  // An id as the gateway makes it, with its time: the hold finds the call's objects in its days' folders, not by listing the bucket.
  const callId = newCallId(startedAt.getTime());
  // The tags say 100 days old under a 90-day retention; Object Lock's own retention would have ended with it, so none is set.
  const prefix = `helpline/${startedAt.toISOString().slice(0, 10).replaceAll('-', '/')}/${callId}/`;
  const keys = ['agent-1.rec', 'caller-1.rec', 'manifest.rec'].map((n) => prefix + n);
  for (const key of keys) {
    const leg = key.endsWith('manifest.rec') ? 'manifest' : 'caller';
    await s.put(key, randomBytes(500), { tags: recordingTags({ line: 'helpline', startedAt, leg, callId, direction: 'inbound' }, 90) });
  }
  const audited: AuditEntry[] = [];
  const audit: AuditSink = { append: (e) => Promise.resolve(audited.push(e)) };
  const holds = new Holds(s);
  const service = new RetentionService({ store: s, holds, sweep: () => sweepExpired({ store: s, holds, audit, log: silentLogger() }), isActive: () => false, pendingInSpool: () => 0 });
  // An object that never had a legal hold has none to read: the server answers with an error.
  const legalHold = async (key: string): Promise<string | undefined> =>
    (await raw.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: `retention/${key}` })).catch(() => undefined))?.LegalHold?.Status;

  const placed = await service.place(callId, { by: 'records', reason: 'complaint C-77' });
  assert.equal(placed.objects, 3);
  for (const key of keys) assert.equal(await legalHold(key), 'ON', key);

  // A segment the spool uploads after the hold was placed (a call still running, an outage caught up) is held too.
  const dir = await mkdtemp(join(tmpdir(), 'recgw-s3-hold-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spool = new Spool({ dir: join(dir, 'spool'), maxBytes: 1 << 30 });
  await spool.open();
  t.after(() => spool.close());
  const uploader = new Uploader({ spool, store: s });
  t.after(() => uploader.stop());
  uploader.on('uploaded', legalHoldOnUpload(s, holds, silentLogger()));
  await uploader.start();
  const late = `${prefix}caller-2.rec`;
  const entry = spool.create({ key: late, tags: recordingTags({ line: 'helpline', startedAt, leg: 'caller', callId, direction: 'inbound' }, 90), callId, kind: 'audio' });
  entry.append(randomBytes(500));
  await entry.seal();
  assert.equal(await uploader.drain(20_000), true);
  await eventually('the late segment held', async () => (await legalHold(late)) === 'ON');
  keys.push(late);
  await rejectsWith(s.delete(keys[0] ?? ''), 'STORE_REJECTED');
  const held = await service.sweep();
  assert.deepEqual([held.examined, held.held, held.deleted], [1, 1, 0]);

  await service.release(callId);
  for (const key of keys) assert.equal(await legalHold(key), 'OFF', key);
  const swept = await service.sweep();
  assert.deepEqual([swept.deleted, swept.objectsDeleted, swept.failed], [1, 4, 0]);
  const left: string[] = [];
  for await (const o of s.list('')) left.push(o.key);
  assert.deepEqual(left, []);
  const versions = await raw.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: `retention/${prefix}` }));
  assert.equal((versions.Versions?.length ?? 0) + (versions.DeleteMarkers?.length ?? 0), 0, 'no version of the audio is left behind');
  assert.deepEqual(audited.map((e) => [e.action, e.callId, e.outcome]), [['retention-delete', callId, 'ok']]);
});
