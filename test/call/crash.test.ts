/**
 * kill -9 of the gateway in the middle of a recorded call: on the next start
 * the spool's leftovers are finished (torn tail cut) and uploaded, they open
 * with allowIncomplete, miss at most the last second beyond the redaction
 * lookback (audio still inside the lookback was never written: a pause could
 * yet have cut it), and the manifest written when capture started says the
 * call is incomplete.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openManifest } from '../../src/access/export.js';
import { freePort } from '../../src/cli/free-port.js';
import { Sipp } from '../../src/cli/sipp.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { openRecording } from '../../src/crypto/format.js';
import { loadDecryptionKey } from '../../src/crypto/keys.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { FsStore } from '../../src/storage/fs.js';
import { pcapAudio, sippMediaPort } from '../helpers/calls.js';
import { gatewayFiles, spawnGateway, waitForSip } from '../helpers/process.js';

test('kill -9 mid-call: after a restart the segments are uploaded, open as incomplete and miss at most the lookback plus a second', async (t) => {
  const { dir, configFile, keys, sipPort, agentPort } = await gatewayFiles(t, 'crash', { portMin: 47000, portMax: 47199 });

  const first = spawnGateway(configFile);
  t.after(() => first.child.kill('SIGKILL'));
  await waitForSip(sipPort);
  const agent = new Sipp({ scenario: 'agent.xml', localPort: agentPort, mediaPort: await sippMediaPort(), timeoutSec: 30 });
  const caller = new Sipp({ scenario: 'caller.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${sipPort}`, service: '1000', pauseMs: 8000, timeoutSec: 30 });
  t.after(() => (caller.kill(), agent.kill()));
  const captureStarted = await first.waitForLog('capture started', 30_000);
  const startedAt = Date.parse(String(captureStarted['time']));
  await new Promise((r) => setTimeout(r, 4000));
  first.child.kill('SIGKILL');
  const killedAt = Date.now();
  await first.exited;
  caller.kill();
  agent.kill();

  const second = spawnGateway(configFile);
  t.after(() => second.child.kill('SIGKILL'));
  await second.waitForLog('recording pipeline ready');
  const store = new FsStore({ dir: join(dir, 'store') });
  const found = async (): Promise<string[]> => {
    const keysFound: string[] = [];
    for await (const o of store.list('')) keysFound.push(o.key);
    return keysFound.sort();
  };
  let objects: string[] = [];
  // The restarted uploader finishes and uploads what the spool held.
  for (let i = 0; i < 100 && objects.length < 3; i++) {
    objects = await found();
    if (objects.length < 3) await new Promise((r) => setTimeout(r, 200));
  }
  second.child.kill('SIGTERM');
  await second.exited;
  assert.deepEqual(objects.map((k) => k.replace(/^.*\//, '')), ['agent-1.rec', 'caller-1.rec', 'manifest-start.rec'], objects.join(', '));

  const kdk = loadDecryptionKey(keys.privateKeyFile);
  const pcap = pcapAudio();
  const expectedBytes = (killedAt - startedAt) * 8;
  for (const key of objects.filter((k) => !k.includes('manifest'))) {
    const bytes = readFileSync(join(dir, 'store', key));
    assert.throws(() => openRecording(bytes, kdk), (err: unknown) => err instanceof CryptoError && err.code === 'TRUNCATED', 'refused without allowIncomplete');
    const opened = openRecording(bytes, kdk, { allowIncomplete: true });
    assert.equal(opened.complete, false);
    const audio = Buffer.concat(opened.chunks);
    t.diagnostic(`${key}: ${audio.length} bytes kept of about ${expectedBytes} sent before the kill (${((expectedBytes - audio.length) / 8000).toFixed(2)} s lost)`);
    // The default lookback (1 s) is held in memory on purpose: never written, so never stored unredacted.
    const lookbackBytes = 1000 * 8;
    assert.ok(audio.length >= expectedBytes - lookbackBytes - 8000, `at most the lookback and one second lost: kept ${audio.length}, sent about ${expectedBytes}`);
    // What was kept is the pcap's audio, in order, from its start.
    // Anchor on the pcap's first sound (it may open with silence, which the leading fill looks like).
    const sound = pcap.audio.findIndex((b) => b !== PCMA_SILENCE);
    const at = audio.indexOf(pcap.audio.subarray(sound, sound + 480)) - sound;
    assert.ok(at >= 0, 'the audio holds the pcap from its start');
    const kept = audio.subarray(at);
    assert.ok(pcap.audio.subarray(0, kept.length).equals(kept), 'byte for byte up to the cut');
  }
  const manifest = openManifest(readFileSync(join(dir, 'store', objects.find((k) => k.endsWith('manifest-start.rec')) ?? '')), kdk);
  assert.equal(manifest.complete, false);
  assert.equal(manifest.stage, 'start');
  assert.deepEqual(manifest.segments.map((s) => [s.leg, s.complete]), [['caller', false], ['agent', false]]);
});
