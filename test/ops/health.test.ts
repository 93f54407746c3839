import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GatewayStats } from '../../src/call/gateway.js';
import { healthOf } from '../../src/ops/health.js';
import type { AuditSink } from '../../src/access/audit.js';
import { silentLogger } from '../../src/ops/log.js';
import { recordingTags } from '../../src/recording/layout.js';
import { Holds } from '../../src/retention/holds.js';
import { sweepExpired } from '../../src/retention/sweep.js';
import { RetentionSweeper } from '../../src/retention/sweeper.js';
import { FsStore } from '../../src/storage/fs.js';
import { Spool } from '../../src/storage/spool.js';
import { StorageError } from '../../src/storage/store.js';
import type { UploaderStats } from '../../src/storage/uploader.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { smallDisk } from '../helpers/small-disk.js';
import { openSpool } from '../helpers/spool.js';

const stats: GatewayStats = { recordingUnavailable: 2, rejectedNotTrunk: 3, rejectedNoLine: 4, callsStarted: 9, callsEnded: 7, recordingsIncomplete: 1, refusedDraining: 5 };
const calls = new Map([
  ['a', {}],
  ['b', {}],
]);
const lastFailure = { code: 'STORE_UNAVAILABLE', message: 'put a.rec: connect ECONNREFUSED 127.0.0.1:9', at: '2026-12-07T03:00:00.000Z' };
const uploads = (failuresSinceSuccess: number): { stats: UploaderStats } => ({
  stats: { uploaded: 5, failures: 6, failuresSinceSuccess, retrying: 1, queued: 0, waitingLive: 2, uploading: 1, streaming: 1, bytesUploaded: 1000, ...(failuresSinceSuccess > 0 ? { lastFailure } : {}) },
});

test('health: the counters as they are, and ok while the spool has room and the store takes uploads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-health-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = new Spool({ dir, maxBytes: 1 << 20 });
  await spool.open();
  t.after(() => spool.close());
  const entry = spool.create({ key: 'a.rec', kind: 'audio', callId: 'a', tags: {} });
  entry.append(Buffer.alloc(1000, 1));

  const view = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(0) });
  assert.equal(view.status, 'ok');
  assert.deepEqual(view.problems, []);
  assert.deepEqual(view.calls, { active: 2, started: 9, ended: 7, recordingsIncomplete: 1 });
  assert.deepEqual(view.refused, { notTrunk: 3, noLine: 4, recordingUnavailable: 2, draining: 5 });
  const { diskFreeBytes, ...rest } = view.spool ?? {};
  assert.deepEqual(rest, { usedBytes: 1000, maxBytes: 1 << 20, entries: 1, full: false, low: false, failedEntries: 0 });
  assert.ok(diskFreeBytes !== undefined && diskFreeBytes > 0, 'the disk\'s free space, as last read');
  assert.deepEqual(view.uploads, { uploaded: 5, failures: 6, failuresSinceSuccess: 0, retrying: 1, queued: 0, waitingLive: 2, uploading: 1, streaming: 1, bytesUploaded: 1000 });

  // Recording into memory only: no spool or uploads to report.
  const bare = healthOf({ gateway: { stats, activeCalls: new Map() } });
  assert.equal(bare.status, 'ok');
  assert.equal(bare.spool, undefined);
  assert.equal(bare.uploads, undefined);
});

test('health: a full spool and a failing store each make it degraded, and each says so in words', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-health-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = new Spool({ dir, maxBytes: 4096 });
  await spool.open();
  t.after(() => spool.close());

  const failing = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(3) });
  assert.equal(failing.status, 'degraded');
  assert.equal(failing.problems.length, 1);
  assert.equal(
    failing.problems[0],
    'object store refusing uploads: 3 failed attempts since the last success (the last at 2026-12-07T03:00:00.000Z: STORE_UNAVAILABLE: put a.rec: connect ECONNREFUSED 127.0.0.1:9); the spool keeps the recordings and retries',
  );

  spool.create({ key: 'b.rec', kind: 'audio', callId: 'b', tags: {} }).append(Buffer.alloc(4096, 2));
  const full = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(0) });
  assert.equal(full.status, 'degraded');
  assert.equal(full.spool?.full, true);
  assert.deepEqual(full.problems, ['spool full (4.0 KiB of 4.0 KiB, 1 entry): recorded lines apply onRecordingFailure']);

  assert.equal(healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(1) }).problems.length, 2, 'both at once');
});

test('health: a spool that cannot write (its disk full) is degraded, names the error, and counts the segments it cost', async (t) => {
  const disk = await smallDisk(t, 2 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), probeMs: 60_000 });
  await disk.fill(8 << 10);
  spool.create({ key: 'c.rec', kind: 'audio', callId: 'c', tags: {} }).append(Buffer.alloc(64 << 10, 3));
  for (let i = 0; i < 1000 && spool.failedEntries === 0; i++) await new Promise((r) => setTimeout(r, 5));

  const view = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(0) });
  assert.equal(view.status, 'degraded');
  assert.equal(view.spool?.full, false, 'far from its configured limit');
  assert.equal(view.spool?.writeFault?.code, 'ENOSPC');
  assert.equal(view.spool?.failedEntries, 1);
  assert.equal(view.problems.length, 1);
  assert.match(view.problems[0] ?? '', /^spool cannot write since \S+ \(ENOSPC: .*no space left on device.*\): recorded lines apply onRecordingFailure; 1 segment lost audio from the failure on$/i);
});

test('health: a spool disk under its reserve is degraded and says how much is free', async (t) => {
  const disk = await smallDisk(t, 4 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  await disk.fill(1 << 20);
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), minFreeBytes: 2 << 20, probeMs: 60_000 });
  const view = healthOf({ gateway: { stats, activeCalls: calls }, spool });
  assert.equal(view.status, 'degraded');
  assert.equal(view.spool?.low, true);
  assert.deepEqual(view.problems.length, 1);
  assert.match(view.problems[0] ?? '', /^spool disk low \(\d+\.\d [KM]iB free, under the 2\.0 MiB kept for calls already recording\): recorded lines apply onRecordingFailure$/);
});

test('health: a retention sweep that the store refused, or that stopped early, is degraded and says what was kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-health-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flaky = new FlakyStore(new FsStore({ dir }));
  const startedAt = new Date(Date.now() - 100 * 86_400_000);
  const tags = recordingTags({ line: 'helpline', startedAt, leg: 'caller', callId: 'c1', direction: 'inbound' }, 90);
  await flaky.put(`helpline/${startedAt.toISOString().slice(0, 10).replaceAll('-', '/')}/c1/caller-1.rec`, Buffer.from('x'), { tags });
  const audit: AuditSink = { append: () => Promise.resolve() };
  const sweeper = new RetentionSweeper({ config: { sweep: false }, sweep: () => sweepExpired({ store: flaky, holds: new Holds(flaky), audit, log: silentLogger() }), log: silentLogger() });
  const gateway = { stats, activeCalls: calls };

  assert.equal(healthOf({ gateway, retention: sweeper }).status, 'ok', 'no sweep has run yet');
  flaky.rejectDeletes = true;
  await sweeper.run();
  const refused = healthOf({ gateway, retention: sweeper });
  assert.equal(refused.status, 'degraded');
  assert.match(refused.problems.join('\n'), /the store would not delete 1 expired call; kept, and tried again at the next sweep/);
  assert.equal(refused.retention?.last?.failed, 1);

  flaky.list = () => {
    throw new StorageError('STORE_UNAVAILABLE', 'connect ECONNREFUSED');
  };
  await sweeper.run();
  const stopped = healthOf({ gateway, retention: sweeper });
  assert.match(stopped.problems.join('\n'), /stopped early \(holds could not be read: connect ECONNREFUSED\): expired recordings may be kept past their retention/);
});

test('health: the SIP engine\'s, the media\'s and the control API\'s counters; an audit record not written makes it degraded', () => {
  const sip = { received: 10, malformed: 2, rejected400: 1, dropped: 1, dialogs: 0, transactions: 0 };
  const media = { rtpReceived: 100, rtpAccepted: 98, rtpRelayed: 97, droppedSource: 2, malformed: 0, captureLate: 1, captureWriteErrors: 0, redactedSamples: 800 };
  const ok = healthOf({ gateway: { stats, activeCalls: calls, media }, engine: { stats: sip }, control: { stats: { requests: 4, unauthorized: 1, auditFailures: 0 } } });
  assert.equal(ok.status, 'ok');
  assert.deepEqual(ok.sip, sip);
  assert.deepEqual(ok.media, media);
  assert.deepEqual(ok.control, { requests: 4, unauthorized: 1, auditFailures: 0 });

  const failing = healthOf({ gateway: { stats, activeCalls: calls }, control: { stats: { requests: 9, unauthorized: 0, auditFailures: 2 } } });
  assert.equal(failing.status, 'degraded');
  assert.deepEqual(failing.problems, ['audit log: 2 records of control actions could not be written since the start; see the log\'s errors']);
});

test('health: a sealed recording that waits for the store while the store reports no error is degraded after 15 minutes, and says how long', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-health-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await openSpool(t, { dir });
  const live = spool.create({ key: 'live.rec', kind: 'audio', callId: 'a', tags: {} });
  live.append(Buffer.alloc(100, 1));
  const done = spool.create({ key: 'done.rec', kind: 'audio', callId: 'b', tags: {} });
  done.append(Buffer.alloc(100, 2));
  await done.seal();
  const sealedAt = done.sealedAt ?? 0;

  const soon = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(0), now: sealedAt + 61_000 });
  assert.equal(soon.status, 'ok');
  assert.equal(soon.spool?.oldestSealedAgeSeconds, 61, 'the live entry is not waiting for the store: only the sealed one counts');

  const late = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(0), now: sealedAt + 16 * 60_000 });
  assert.equal(late.status, 'degraded');
  assert.deepEqual(late.problems, [
    'uploads behind: a sealed recording has waited 16 min for the store, which reports no error (0 queued, 1 uploading): uploads hang or cannot keep up; the spool keeps the recordings',
  ]);

  // A store that refuses says so itself: one problem, not two.
  const refusing = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(2), now: sealedAt + 16 * 60_000 });
  assert.equal(refusing.problems.length, 1);
  assert.match(refusing.problems[0] ?? '', /^object store refusing uploads/);

  await live.seal();
  await Promise.all([live.remove(), done.remove()]);
  const drained = healthOf({ gateway: { stats, activeCalls: calls }, spool, uploader: uploads(0), now: sealedAt + 16 * 60_000 });
  assert.equal(drained.spool?.oldestSealedAgeSeconds, undefined);
  assert.equal(drained.status, 'ok');
});

test('health: the audit log\'s copy in the store; copies failing for 15 minutes make it degraded, saying how many records are only on this disk', () => {
  const now = Date.parse('2026-12-08T03:00:00.000Z');
  const shipping = (failingSince?: string) => ({
    log: { lastSeq: 12 },
    shipper: { view: { shippedSeq: 9, lastShippedAt: '2026-12-08T02:30:00.000Z', ...(failingSince !== undefined ? { failingSince, lastError: 'store is down' } : {}) } },
  });
  const ok = healthOf({ gateway: { stats, activeCalls: calls }, audit: shipping(), now });
  assert.equal(ok.status, 'ok');
  assert.deepEqual(ok.audit, { lastSeq: 12, shippedSeq: 9, lastShippedAt: '2026-12-08T02:30:00.000Z' });
  assert.equal(healthOf({ gateway: { stats, activeCalls: calls }, audit: shipping('2026-12-08T02:50:00.000Z'), now }).status, 'ok', 'ten minutes: the store\'s own problem shows first');
  const late = healthOf({ gateway: { stats, activeCalls: calls }, audit: shipping('2026-12-08T02:40:00.000Z'), now });
  assert.equal(late.status, 'degraded');
  assert.deepEqual(late.problems, ['audit log not copied to the store since 2026-12-08T02:40:00.000Z (store is down): 3 records are only on this disk']);
});
