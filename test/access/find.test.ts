/**
 * Finding a number's calls for a subject access request: the number compared
 * as people write it; only the folders of the days asked for read; a call
 * whose manifest lists a segment the store does not hold marked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { findCalls, isWhole, sameNumber, sharedDays } from '../../src/access/find.js';
import { generateKeyPair, loadDecryptionKey, loadEncryptionKey } from '../../src/crypto/keys.js';
import { newCallId } from '../../src/recording/call-id.js';
import { callPrefix } from '../../src/recording/layout.js';
import type { Manifest } from '../../src/recording/manifest.js';
import { ListingStore, putManifest } from '../helpers/recordings.js';

test('one number however it is written; different numbers stay apart', () => {
  for (const [a, b] of [
    ['07700900123', '+44 7700 900123'],
    ['07700 900123', '447700900123'],
    ['+447700900123', '0044 7700 900123'],
    ['2001', '2001'],
  ]) {
    assert.ok(sameNumber(a ?? '', b ?? ''), `${a} is ${b}`);
  }
  for (const [a, b] of [
    ['07700900123', '07700900124'],
    ['2001', '12001'],
    ['anonymous', 'anonymous'],
    ['', '07700900123'],
  ]) {
    assert.ok(!sameNumber(a ?? '', b ?? ''), `${a} is not ${b}`);
  }
});

test('the folders a range of days lies in', () => {
  assert.equal(sharedDays('2026-11-01', '2026-11-30'), '2026/11/');
  assert.equal(sharedDays('2026-11-05', '2026-11-05'), '2026/11/05/');
  assert.equal(sharedDays('2026-01-01', '2026-12-31'), '2026/');
  assert.equal(sharedDays('2025-12-01', '2026-01-31'), '');
  assert.equal(sharedDays('2026-11-01', undefined), '');
  assert.equal(sharedDays(undefined, '2026-11-01'), '');
});

test('a search reads only the folders of the days asked for, under every line, and marks a call whose segment the store does not hold', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-find-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const keys = generateKeyPair(join(dir, 'keys'));
  const kek = loadEncryptionKey({ publicKey: keys.publicKeyFile });
  const store = new ListingStore({ dir: join(dir, 'store') });
  const call = async (line: string, at: string, lost: boolean): Promise<string> => {
    const startedAt = new Date(at);
    const callId = newCallId(startedAt.getTime());
    const prefix = callPrefix(line, callId, startedAt);
    const segments = (['caller', 'agent'] as const).map((leg) => ({ leg, segment: 1, key: `${prefix}${leg}-1.rec`, codec: 'PCMA' as const, startedAt: at, complete: true }));
    for (const s of segments) if (!(lost && s.leg === 'agent')) await store.put(s.key, Buffer.from('sealed audio'), { tags: {} });
    const manifest: Manifest = {
      version: 1, stage: 'final', callId, line, direction: 'inbound', callerNumber: '07700900123', calledNumber: '1000',
      startedAt: at, endedAt: at, retentionDays: 90, segments, pausedWindows: [], complete: true,
    };
    await putManifest(store, kek, manifest);
    return callId;
  };
  const whole = await call('helpline', '2026-11-05T10:00:00.000Z', false);
  const lost = await call('sales', '2026-11-20T10:00:00.000Z', true);
  await call('helpline', '2026-12-01T10:00:00.000Z', false);
  await store.put('holds/x.json', Buffer.from('{}'), { tags: {} });

  const r = await findCalls(store, loadDecryptionKey(keys.privateKeyFile), { number: '+44 7700 900123', from: '2026-11-01', to: '2026-11-30' });
  assert.deepEqual(store.listed, ['helpline/2026/11/', 'sales/2026/11/'], 'each line\'s November, nothing else');
  assert.deepEqual(r.found.map((f) => [f.manifest.callId, isWhole(f)]), [[whole, true], [lost, false]]);
  assert.deepEqual(r.found[1]?.absent.map((s) => s.key), [`${callPrefix('sales', lost, new Date('2026-11-20T10:00:00.000Z'))}agent-1.rec`]);
  assert.equal(r.manifestsRead, 2);

  store.listed.length = 0;
  const line = await findCalls(store, loadDecryptionKey(keys.privateKeyFile), { line: 'helpline', from: '2026-11-01', to: '2026-12-31' });
  assert.deepEqual(store.listed, ['helpline/2026/'], 'the line named, and the year both ends share');
  assert.equal(line.found.length, 2);
  assert.ok(line.found.every(isWhole));
});
