/**
 * `recgw export` as an auditor runs it, against recordings in an fs store:
 * a whole call to legs and an MP3 mix, a crash-truncated leg refused unless
 * --allow-incomplete, the wrong key refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { callWithin } from '../../src/cli/export.js';
import { RecordingSealer } from '../../src/crypto/format.js';
import { generateKeyPair, loadEncryptionKey, type KeyEncryptionKey } from '../../src/crypto/keys.js';
import { encodeG711 } from '../../src/media/g711.js';
import { keySafe, objectKey } from '../../src/recording/layout.js';
import type { Manifest } from '../../src/recording/manifest.js';
import type { SegmentInfo } from '../../src/recording/writer.js';
import { FsStore } from '../../src/storage/fs.js';
import { putManifest } from '../helpers/recordings.js';
import { recgw } from '../helpers/cli.js';

function tone(seconds: number, hz: number): Buffer {
  const pcm = Buffer.alloc(seconds * 8000 * 2);
  for (let i = 0; i < seconds * 8000; i++) pcm.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / 8000)), i * 2);
  return encodeG711(pcm, 'PCMA');
}

function seal(kek: KeyEncryptionKey, info: SegmentInfo, audio: Buffer, opts: { dropFinal?: boolean } = {}): Buffer {
  const sealer = new RecordingSealer({ kind: 'audio', codec: info.codec, sampleRate: 8000, leg: info.leg, callId: info.callId, segment: info.segment, startedAt: info.startedAt.toISOString() }, kek);
  const parts = [sealer.headerBytes];
  for (let at = 0; at < audio.length; at += 4000) {
    const final = at + 4000 >= audio.length;
    const record = sealer.seal(audio.subarray(at, at + 4000), final);
    if (!(final && opts.dropFinal)) parts.push(record);
  }
  return Buffer.concat(parts);
}

/** A temp dir (removed after the test) with a key pair, an fs store, and a config naming that store. */
function exportRig(t: TestContext): { dir: string; keys: ReturnType<typeof generateKeyPair>; kek: KeyEncryptionKey; store: FsStore; config: string; startedAt: Date } {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = generateKeyPair(join(dir, 'keys'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `storage: { kind: fs, dir: ${JSON.stringify(join(dir, 'store'))} }\n`);
  return { dir, keys, kek: loadEncryptionKey({ publicKey: keys.publicKeyFile }), store: new FsStore({ dir: join(dir, 'store') }), config, startedAt: new Date('2026-11-23T10:00:00.000Z') };
}

test('recgw export: a call to legs and an MP3 mix; a truncated leg only with --allow-incomplete; the wrong key refused', async (t) => {
  const { dir, keys, kek, store, config, startedAt } = exportRig(t);
  // As a SIP Call-ID is written; the store's folder and the files have it key-safe.
  const callId = 'Call-Export-1@pstn.example';
  const file = 'call-export-1-pstn.example';
  const infoOf = (leg: 'caller' | 'agent'): SegmentInfo => ({ callId, leg, segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: startedAt, line: 'helpline', operator: 'agent7', direction: 'inbound' });
  for (const [leg, hz] of [['caller', 440], ['agent', 660]] as const) {
    await store.put(objectKey(infoOf(leg)), seal(kek, infoOf(leg), tone(2, hz)), { tags: {} });
  }
  const manifest: Manifest = {
    version: 1, stage: 'final', callId, line: 'helpline', direction: 'inbound', callerNumber: '07700900123', calledNumber: '1000', operator: 'agent7',
    startedAt: startedAt.toISOString(), endedAt: new Date(startedAt.getTime() + 2000).toISOString(), endReason: 'caller-bye', retentionDays: 90,
    segments: (['caller', 'agent'] as const).map((leg) => ({ leg, segment: 1, key: objectKey(infoOf(leg)), codec: 'PCMA' as const, startedAt: startedAt.toISOString(), complete: true })),
    pausedWindows: [{ start: startedAt.toISOString(), end: new Date(startedAt.getTime() + 500).toISOString(), trigger: 'api', by: 'supervisor' }],
    complete: true,
  };
  await putManifest(store, kek, manifest);

  const out = join(dir, 'out');
  const call = recgw(['export', '--call', callId, '--config', config, '--private-key', keys.privateKeyFile, '--out', out, '--format', 'mp3']);
  assert.equal(call.code, 0, call.err);
  assert.match(call.out, /07700900123 -> 1000, operator agent7/);
  assert.match(call.out, /caller segment 1: 2\.00 s, 4 chunks verified/);
  assert.match(call.out, /note: paused .* \(api, by supervisor\)/);
  assert.ok(statSync(join(out, `${file}.mp3`)).size > 1000, 'an MP3 of the call');
  const callerWav = readFileSync(join(out, `${file}-caller-1.wav`));
  assert.equal(callerWav.length, 44 + 2 * 8000 * 2, '2 s of 16-bit mono');

  // A leg cut short by a crash (no final chunk).
  const cut = join(dir, 'cut.rec');
  writeFileSync(cut, seal(kek, infoOf('caller'), tone(2, 440), { dropFinal: true }));
  const refused = recgw(['export', cut, '--config', config, '--private-key', keys.privateKeyFile, '--out', out]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /chunk \d+.*\(TRUNCATED\)|TRUNCATED/);
  const allowed = recgw(['export', cut, '--config', config, '--private-key', keys.privateKeyFile, '--out', out, '--allow-incomplete']);
  assert.equal(allowed.code, 0, allowed.err);
  assert.match(allowed.out, /INCOMPLETE/);

  const other = generateKeyPair(join(dir, 'other'));
  const wrong = recgw(['export', '--call', callId, '--config', config, '--private-key', other.privateKeyFile, '--out', out]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /WRONG_KEY/);
});

test('recgw export --call with --line and --day lists only that part of the store: found there, not found on another day, and the options checked', async (t) => {
  const { dir, keys, kek, store, config, startedAt } = exportRig(t);
  const callId = 'narrow-1';
  const info: SegmentInfo = { callId, leg: 'caller', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: startedAt, line: 'helpline', operator: 'agent7', direction: 'inbound' };
  await store.put(objectKey(info), seal(kek, info, tone(1, 440)), { tags: {} });
  const base = ['export', '--call', callId, '--config', config, '--private-key', keys.privateKeyFile, '--out', join(dir, 'out')];

  const there = recgw([...base, '--line', 'helpline', '--day', '2026-11-23']);
  assert.equal(there.code, 0, there.err);
  assert.match(there.out, /caller segment 1: 1\.00 s/);
  assert.equal(recgw([...base, '--line', 'helpline']).code, 0, 'the line alone');
  const elsewhere = recgw([...base, '--line', 'helpline', '--day', '2026-11-24']);
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.err, /no recording of call narrow-1/);

  assert.equal(callWithin(undefined, undefined), '');
  assert.equal(callWithin('Help Line', '2026-11-23'), `${keySafe('Help Line')}/2026/11/23/`);
  assert.throws(() => callWithin(undefined, '2026-11-23'), UsageError);
  assert.throws(() => callWithin('helpline', '23/11/2026'), UsageError);
  const releases = (): number => readdirSync(join(dir, 'store', 'releases')).filter((f) => !f.endsWith('.meta.json')).length;
  const before = releases();
  assert.equal(recgw([...base, '--day', '2026-11-23']).code, 2, 'a usage mistake exits 2');
  assert.equal(releases(), before, 'before any release is recorded');
});

test('recgw export --call checks the segments the manifest lists: one in the next day\'s folder is found, one the store lacks is named', async (t) => {
  const { dir, keys, kek, store, config } = exportRig(t);
  const callId = 'midnight-1';
  const callStartedAt = new Date('2026-11-23T23:59:59.000Z');
  const second = new Date('2026-11-24T00:00:00.000Z');
  const infoOf = (leg: 'caller' | 'agent', segment: number, startedAt: Date, filedAt: Date): SegmentInfo =>
    ({ callId, leg, segment, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: filedAt, line: 'helpline', direction: 'inbound' });
  // As an earlier version filed it: segment 2 began after midnight, so it went under the next day's folder.
  const segments = [infoOf('caller', 1, callStartedAt, callStartedAt), infoOf('caller', 2, second, second), infoOf('agent', 1, callStartedAt, callStartedAt), infoOf('agent', 2, second, second)];
  for (const info of segments.slice(0, 3)) await store.put(objectKey(info), seal(kek, info, tone(1, info.leg === 'caller' ? 440 : 660)), { tags: {} });
  await putManifest(store, kek, {
    version: 1, stage: 'final', callId, line: 'helpline', direction: 'inbound', callerNumber: '07700900123', calledNumber: '1000',
    startedAt: callStartedAt.toISOString(), endedAt: '2026-11-24T00:00:01.000Z', endReason: 'caller-bye', retentionDays: 90,
    segments: segments.map((i) => ({ leg: i.leg, segment: i.segment, key: objectKey(i), codec: 'PCMA' as const, startedAt: i.startedAt.toISOString(), complete: true })),
    pausedWindows: [], complete: true,
  });
  const out = join(dir, 'out');
  const base = ['export', '--call', callId, '--config', config, '--private-key', keys.privateKeyFile, '--out', out, '--line', 'helpline', '--day', '2026-11-23'];

  const refused = recgw(base);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /does not hold agent segment 2 \(helpline\/2026\/11\/24\/midnight-1\/agent-2\.rec\)/);
  assert.doesNotMatch(refused.err, /caller segment 2/, 'the caller\'s second segment is in the store, a day later');

  const rest = recgw([...base, '--allow-incomplete']);
  assert.equal(rest.code, 0, rest.err);
  assert.match(rest.out, /caller segment 2: 1\.00 s, 2 chunks verified/);
  assert.match(rest.out, /note: agent segment 2 is not in the store: helpline\/2026\/11\/24\/midnight-1\/agent-2\.rec/);
  assert.equal(readFileSync(join(out, 'midnight-1-caller-2.wav')).length, 44 + 8000 * 2);
});
