import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPair, loadEncryptionKey } from '../../src/crypto/keys.js';
import { silentLogger } from '../../src/ops/log.js';
import { EncryptedSegmentWriter } from '../../src/recording/encrypted-writer.js';
import type { Manifest } from '../../src/recording/manifest.js';
import { Spool } from '../../src/storage/spool.js';

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
  const audio = writer.open({ callId: 'c1', leg: 'caller', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, line: 'helpline', direction: 'inbound' });
  await audio.close();
  const byKind = new Map(spool.entries().map((e) => [e.meta.kind, e.meta.retainUntil]));
  const expected = new Date(startedAt.getTime() + 30 * 86_400_000).toISOString();
  assert.equal(byKind.get('manifest'), expected);
  assert.equal(byKind.get('audio'), expected);
});
