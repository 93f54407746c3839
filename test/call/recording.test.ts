/**
 * The recording pipeline end to end: SIPp calls through the gateway, each leg
 * is sealed into the spool, uploaded to the fs store with its tags, and the
 * export turns it back into exactly the audio SIPp sent. Nothing readable
 * lands on disk; tampering and the wrong key are refused.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportCall, openManifest } from '../../src/access/export.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { openRecording, parseHeader } from '../../src/crypto/format.js';
import { generateKeyPair, loadDecryptionKey } from '../../src/crypto/keys.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { FsStore } from '../../src/storage/fs.js';
import { assertHoldsExactly, pcapAudio, startCall } from '../helpers/calls.js';
import { eventually, startTestGateway } from '../helpers/gateway.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

test('a recorded call is sealed, spooled, uploaded with its tags, and exports to exactly what SIPp sent', async (t) => {
  const gw = await startTestGateway({ pipeline: true });
  t.after(() => gw.stop());
  const pcap = pcapAudio();
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 8000 } });
  const { summary } = await finished;
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  assert.equal(await pipeline.uploader.drain(20_000), true, 'the spool empties once the store has everything');

  const store = new FsStore({ dir: gw.storeDir });
  const keys: string[] = [];
  for await (const o of store.list('')) keys.push(o.key);
  const day = summary.startedAt.slice(0, 10).replaceAll('-', '/');
  const prefix = `helpline/${day}/${summary.callId}/`;
  assert.deepEqual(keys.sort(), [`${prefix}agent-1.rec`, `${prefix}caller-1.rec`, `${prefix}manifest-start.rec`, `${prefix}manifest.rec`]);

  const info = await store.head(`${prefix}caller-1.rec`);
  assert.ok(info);
  assert.deepEqual(
    { ...info.tags },
    { line: 'helpline', operator: 'agent1001', started: info.tags['started'], leg: 'caller', 'call-id': summary.callId, direction: 'inbound', retention: '90' },
  );
  assert.match(info.tags['started'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  // Opened with the private key, each leg is the pcap's payload byte for byte, on the call's clock.
  const kdk = loadDecryptionKey(gw.privateKeyFile);
  for (const leg of ['caller', 'agent']) {
    const opened = openRecording(readFileSync(join(gw.storeDir, `${prefix}${leg}-1.rec`)), kdk);
    assert.equal(opened.complete, true);
    assert.equal(opened.header.codec, 'PCMA');
    assertHoldsExactly(Buffer.concat(opened.chunks), pcap.audio, PCMA_SILENCE);
  }
  const manifest = openManifest(readFileSync(join(gw.storeDir, `${prefix}manifest.rec`)), kdk);
  assert.equal(manifest.complete, true);
  assert.equal(manifest.callerNumber, '07700900123');

  // The known audio appears nowhere in plain: not in the store, not in the spool (which is empty now, but was used).
  const probe = pcap.packets[100];
  assert.ok(probe);
  for (const f of [...filesUnder(gw.storeDir), ...filesUnder(gw.spoolDir)]) {
    assert.equal(readFileSync(f).indexOf(probe.subarray(0, 64)), -1, `no plain audio in ${f}`);
  }

  // The export writes each leg and the stereo mix.
  const out = join(gw.storeDir, '..', 'export');
  const exported = await exportCall(store, summary.callId, kdk, out);
  assert.deepEqual(exported.legs.map((l) => [l.leg, l.complete]).sort(), [['agent', true], ['caller', true]]);
  assert.ok(exported.mix && statSync(exported.mix).size > 44 + 8 * 8000 * 2 * 2, 'a stereo WAV of the whole call');

  // A flipped byte in a stored chunk is refused, naming the chunk; so is the wrong key.
  const target = join(gw.storeDir, `${prefix}agent-1.rec`);
  const bytes = readFileSync(target);
  // A byte inside the ciphertext of chunk 0 (a record's frame is 13 bytes: length, flags, index).
  const at = (parseHeader(bytes)?.length ?? 0) + 13 + 100;
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
  writeFileSync(target, bytes);
  assert.throws(() => openRecording(bytes, kdk), (err: unknown) => err instanceof CryptoError && err.code === 'TAMPERED' && err.chunk === 0 && /chunk 0\b/.test(err.message));
  const other = loadDecryptionKey(generateKeyPair(join(gw.storeDir, '..', 'other-keys')).privateKeyFile);
  assert.throws(() => openRecording(readFileSync(join(gw.storeDir, `${prefix}caller-1.rec`)), other), (err: unknown) => err instanceof CryptoError && err.code === 'WRONG_KEY');
  await eventually('spool empty', () => pipeline.spool.entries().length === 0);
});

test('segments reach the store while the call runs, contiguous on the call clock', async (t) => {
  const gw = await startTestGateway({ pipeline: true, segmentSeconds: 2 });
  t.after(() => gw.stop());
  const pcap = pcapAudio();
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 8000 } });
  const call = await started.call;
  await new Promise<void>((resolve) => call.once('answered', resolve));
  const store = new FsStore({ dir: gw.storeDir });
  const list = async (): Promise<string[]> => {
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key.replace(/^.*\//, ''));
    return keys.sort();
  };
  let during: string[] = [];
  for (let i = 0; i < 60 && !during.includes('caller-2.rec'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    during = await list();
  }
  assert.equal(call.ended, false, 'the call is still up');
  assert.ok(during.includes('caller-1.rec') && during.includes('agent-1.rec') && during.includes('caller-2.rec'), `stored during the call: ${during.join(', ')}`);

  const { summary } = await started.finished;
  assert.equal(await gw.running.pipeline?.uploader.drain(20_000), true);
  const kdk = loadDecryptionKey(gw.privateKeyFile);
  const keys: string[] = [];
  for await (const o of store.list('')) keys.push(o.key);
  const manifestFile = keys.find((k) => k.endsWith('/manifest.rec'));
  assert.ok(manifestFile);
  const manifest = openManifest(readFileSync(join(gw.storeDir, manifestFile)), kdk);
  assert.equal(manifest.complete, true);
  for (const leg of ['caller', 'agent'] as const) {
    const segs = manifest.segments.filter((s) => s.leg === leg);
    assert.ok(segs.length >= 4, `${leg}: ${segs.length} segments of 2 s`);
    segs.forEach((s, i) => {
      assert.equal(s.segment, i + 1);
      if (i > 0) assert.equal(Date.parse(s.startedAt) - Date.parse(segs[i - 1]?.startedAt ?? ''), 2000, 'contiguous');
    });
    const audio = Buffer.concat(segs.map((s) => Buffer.concat(openRecording(readFileSync(join(gw.storeDir, s.key)), kdk).chunks)));
    assertHoldsExactly(audio, pcap.audio, PCMA_SILENCE);
  }
  assert.equal(summary.reason, 'caller-bye');
});
