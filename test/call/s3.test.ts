/**
 * Recording to a real S3-compatible server (Ceph RGW on loopback): segments
 * appear in the bucket during the call with their tags and metadata; the
 * server is stopped for part of the call and restarted, and nothing is lost;
 * the bucket holds no plain audio.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openManifest } from '../../src/access/export.js';
import { openRecording } from '../../src/crypto/format.js';
import { loadDecryptionKey } from '../../src/crypto/keys.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import type { ObjectStore } from '../../src/storage/store.js';
import { assertHoldsExactly, pcapAudio, startCall } from '../helpers/calls.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startS3Server } from '../helpers/s3-server.js';

async function bytesOf(store: ObjectStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await store.get(key)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function keysIn(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('')) keys.push(o.key);
  return keys.sort();
}

test('recording to S3: segments stream in during the call, survive a server outage, and carry their tags', async (t) => {
  const server = await startS3Server();
  t.after(() => server.shutdown());
  await server.createBucket('recordings');
  // The gateway takes credentials from the standard AWS chain, as in production.
  process.env['AWS_ACCESS_KEY_ID'] = server.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = server.secretAccessKey;
  const gw = await startTestGateway({
    pipeline: true,
    segmentSeconds: 2,
    storage: { kind: 's3', bucket: 'recordings', prefix: 'gw1/', region: server.region, endpoint: server.endpoint, pathStyle: true },
  });
  t.after(() => gw.stop());
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  const store = pipeline.store;
  const pcap = pcapAudio();
  const failures: string[] = [];
  const uploaded: string[] = [];
  pipeline.uploader.on('failed', (e) => failures.push(e.error.code));
  // 'uploaded' fires once the store confirmed the object, its hash and its tags.
  pipeline.uploader.on('uploaded', (e) => uploaded.push(e.key));

  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml', timeoutSec: 60 }, caller: { scenario: 'caller.xml', pauseMs: 8000, timeoutSec: 60 } });
  const call = await started.call;
  await new Promise<void>((resolve) => call.once('answered', resolve));

  // The first segments reach the bucket while the call runs.
  for (let i = 0; i < 80 && !uploaded.some((k) => k.endsWith('/caller-1.rec')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(call.ended, false, 'the call is still up');
  const during = await keysIn(store);
  const first = during.find((k) => k.endsWith('/caller-1.rec'));
  assert.ok(first, `caller-1 stored during the call: ${during.join(', ')}`);
  const info = await store.head(first);
  assert.ok(info);
  const expectedTags = { line: 'helpline', operator: 'agent1001', started: info.tags['started'], leg: 'caller', 'call-id': call.id, direction: 'inbound', retention: '90' };
  assert.deepEqual({ ...info.tags }, expectedTags, 'object tags');
  for (const [k, v] of Object.entries(expectedTags)) assert.equal(info.metadata[k], v, `metadata ${k}`);

  // The store goes away for part of the call, then comes back.
  await server.stop();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(call.ended, false);
  await server.restart();

  const { summary } = await started.finished;
  assert.equal(await pipeline.uploader.drain(90_000), true, 'everything arrived once the store was back');
  assert.ok(failures.length > 0 && failures.every((f) => f === 'STORE_UNAVAILABLE'), `uploads failed while the store was down, and were retried (${failures.join(',')})`);

  const keys = await keysIn(store);
  const kdk = loadDecryptionKey(gw.privateKeyFile);
  const manifestKey = keys.find((k) => k.endsWith(`/${summary.callId}/manifest.rec`));
  assert.ok(manifestKey, keys.join(', '));
  const manifest = openManifest(await bytesOf(store, manifestKey), kdk);
  assert.equal(manifest.complete, true);
  const probe = pcap.packets[100]?.subarray(0, 64);
  assert.ok(probe);
  for (const leg of ['caller', 'agent'] as const) {
    const parts: Buffer[] = [];
    for (const s of manifest.segments.filter((x) => x.leg === leg)) {
      const stored = await bytesOf(store, s.key);
      assert.equal(stored.indexOf(probe), -1, `no plain audio in ${s.key}`);
      parts.push(Buffer.concat(openRecording(stored, kdk).chunks));
    }
    assertHoldsExactly(Buffer.concat(parts), pcap.audio, PCMA_SILENCE);
  }
});
