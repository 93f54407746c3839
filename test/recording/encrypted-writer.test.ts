import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRecording, recoverableLength } from '../../src/crypto/format.js';
import { generateKeyPair, loadDecryptionKey, loadEncryptionKey } from '../../src/crypto/keys.js';
import { silentLogger } from '../../src/ops/log.js';
import { EncryptedSegmentWriter } from '../../src/recording/encrypted-writer.js';
import type { Manifest } from '../../src/recording/manifest.js';
import { RotatingSink } from '../../src/recording/rotating-sink.js';
import { Spool } from '../../src/storage/spool.js';
import { smallDisk } from '../helpers/small-disk.js';
import { openSpool } from '../helpers/spool.js';

test('with Object Lock, the manifest is retained as long as the audio of its call', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-writer-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spool = new Spool({ dir: join(dir, 'spool'), maxBytes: 1 << 20 });
  await spool.open();
  t.after(() => spool.close());
  const keys = generateKeyPair(join(dir, 'keys'));
  const writer = new EncryptedSegmentWriter({ spool, kek: loadEncryptionKey({ publicKey: keys.publicKeyFile }), log: silentLogger(), retentionDays: () => 30, objectLock: true });
  const startedAt = new Date('2026-11-23T10:00:00.000Z');
  const manifest: Manifest = {
    version: 1,
    stage: 'final',
    callId: 'c1',
    line: 'helpline',
    direction: 'inbound',
    callerNumber: '07700900123',
    calledNumber: '1000',
    startedAt: startedAt.toISOString(),
    retentionDays: 30,
    segments: [],
    pausedWindows: [],
    complete: true,
  };
  await writer.writeManifest(manifest);
  const audio = writer.open({ callId: 'c1', leg: 'caller', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: startedAt, line: 'helpline', direction: 'inbound' });
  await audio.close();
  const byKind = new Map(spool.entries().map((e) => [e.meta.kind, e.meta.retainUntil]));
  const expected = new Date(startedAt.getTime() + 30 * 86_400_000).toISOString();
  assert.equal(byKind.get('manifest'), expected);
  assert.equal(byKind.get('audio'), expected);
});

test("a leg whose spool entry fails on a full disk goes on in a new segment once the spool can write again; the failed one keeps its whole chunks", async (t) => {
  const disk = await smallDisk(t, 4 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const dir = await mkdtemp(join(tmpdir(), 'recgw-writer-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spool = await openSpool(t, { dir: join(disk.dir, 'spool'), probeMs: 50 });
  const keys = generateKeyPair(join(dir, 'keys'));
  const kdk = loadDecryptionKey(keys.privateKeyFile);
  const writer = new EncryptedSegmentWriter({ spool, kek: loadEncryptionKey({ publicKey: keys.publicKeyFile }), log: silentLogger(), retentionDays: () => 30, objectLock: false });
  const startedAt = new Date('2026-12-07T10:00:00.000Z');
  const sink = new RotatingSink(writer, { callId: 'c1', leg: 'caller', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: startedAt, line: 'helpline', direction: 'inbound' }, 300 * 8000);
  const second = (n: number): Buffer => Buffer.alloc(8000, n);
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

  const handed: number[] = [];
  const write = (n: number): void => {
    sink.write(second(n));
    handed.push(n);
  };
  write(1);
  await settle();
  await disk.fill(8 << 10);
  for (let n = 2; n <= 6 && !spool.fault; n++) {
    write(n);
    await settle();
  }
  assert.equal(spool.fault?.code, 'ENOSPC');
  write(7);
  assert.equal(sink.segments.length, 1, 'no new segment while the spool cannot write');
  const failedEntry = spool.entries()[0];
  assert.ok(failedEntry?.failed);

  await disk.free();
  for (let i = 0; i < 400 && spool.fault; i++) await settle();
  assert.equal(spool.fault, undefined);
  sink.write(second(8));
  sink.write(second(9));
  assert.equal(sink.segments.length, 2, 'the rest of the leg in a new segment');
  const [first, next] = sink.segments;
  assert.equal(next?.info.segment, 2);
  assert.equal(next?.info.startedAt.toISOString(), new Date(startedAt.getTime() + handed.length * 1000).toISOString(), 'placed on the call clock after the seconds handed to the failed one');
  await assert.rejects(sink.close(), /spool entry/, 'the failed segment does not close');
  assert.ok(first?.error !== undefined && next?.closedAt !== undefined);

  const byKey = new Map(spool.entries().map((e) => [e.meta.key, e]));
  const nextEntry = byKey.get(next.key);
  assert.ok(nextEntry?.sealed);
  assert.deepEqual(Buffer.concat(openRecording(await readFile(nextEntry.path), kdk).chunks), Buffer.concat([second(8), second(9)]));
  // The failed segment, as the uploader finishes it: cut to its last whole chunk, then opened as an incomplete recording.
  const taken = byKey.get(first.key);
  assert.ok(taken?.recovered, 'handed back to the uploader as a crash leftover');
  const bytes = await readFile(taken.path);
  const opened = openRecording(bytes.subarray(0, recoverableLength(bytes)), kdk, { allowIncomplete: true });
  assert.equal(opened.complete, false);
  const audio = Buffer.concat(opened.chunks);
  assert.ok(audio.length >= 8000, `at least the first second reached the disk (${audio.length} bytes)`);
  assert.deepEqual(audio, Buffer.concat(handed.map(second)).subarray(0, audio.length));
});
