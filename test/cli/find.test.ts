/**
 * `recgw find` as a records officer answers a subject access request: a call
 * SIPp placed through the gateway is found by the caller's number however it
 * is written, a manifest sealed for another key is named rather than passed
 * over, and with --out each call is copied after the release is recorded in
 * the store. `recgw export` records its release too. An auditor lists a
 * line's calls, the incomplete ones marked, and the objects the store lost.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Release } from '../../src/access/releases.js';
import { RecordingSealer } from '../../src/crypto/format.js';
import { generateKeyPair, loadEncryptionKey } from '../../src/crypto/keys.js';
import { manifestKey } from '../../src/recording/layout.js';
import { objectsOfCall, streamToBuffer } from '../../src/access/export.js';
import { FsStore } from '../../src/storage/fs.js';
import { startCall } from '../helpers/calls.js';
import { startTestGateway } from '../helpers/gateway.js';
import { recgw } from '../helpers/cli.js';

test('recgw find lists a caller\'s calls, names what it cannot read, and releases copies on the record; by line, it lists the line\'s calls and marks the incomplete', async (t) => {
  const gw = await startTestGateway({ pipeline: true });
  t.after(() => gw.stop());
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 1000 } });
  const { summary } = await finished;
  assert.equal(await gw.running.pipeline?.uploader.drain(20_000), true);
  const config = join(gw.storeDir, '..', 'find.yaml');
  writeFileSync(config, `storage: { kind: fs, dir: ${JSON.stringify(gw.storeDir)} }\n`);
  const store = new FsStore({ dir: gw.storeDir });

  // A call of the same caller sealed for another key: the search must say it could not read it.
  const other = generateKeyPair(join(gw.storeDir, '..', 'other-keys'));
  const startedAt = new Date(summary.startedAt);
  const sealer = new RecordingSealer({ kind: 'manifest', codec: 'none', sampleRate: 0, leg: 'none', callId: 'elsewhere', segment: 0, startedAt: summary.startedAt }, loadEncryptionKey({ publicKey: other.publicKeyFile }));
  await store.put(manifestKey('helpline', 'elsewhere', startedAt, 'final'), Buffer.concat([sealer.headerBytes, sealer.seal(Buffer.from('{}'), true)]), { tags: {} });

  const key = ['--private-key', gw.privateKeyFile, '--config', config];
  const listed = recgw(['find', '--number', '+44 7700 900123', ...key]);
  assert.equal(listed.code, 1, 'an unreadable manifest makes the search exit 1');
  assert.match(listed.out, new RegExp(`${summary.callId}  line helpline  inbound  07700900123 -> 1000 .*\\(caller\\)`));
  assert.match(listed.out, /1 call of \+44 7700 900123 in 2 read/);
  assert.match(listed.out, /not read: helpline\/.*\/elsewhere\/manifest\.rec: /);
  assert.match(recgw(['find', '--number', '07700900999', ...key]).out, /0 calls of 07700900999/);
  const day = summary.startedAt.slice(0, 10);
  assert.match(recgw(['find', '--number', '07700900123', '--to', '2000-01-01', ...key]).out, /0 calls of 07700900123 in 0 read/, 'a range before the call reads nothing');
  assert.match(recgw(['find', '--number', '07700900123', '--from', day, '--to', day, '--line', 'helpline', ...key]).out, /1 call of/);

  const out = join(gw.storeDir, '..', 'sar-1');
  assert.equal(recgw(['find', '--number', '07700900123', '--out', out, ...key]).code, 2, '--out without --reason is refused');
  assert.ok(!existsSync(out), 'and nothing was written');
  const released = recgw(['find', '--number', '07700900123', '--out', out, '--reason', 'SAR-2026-041', '--by', 'records-officer', ...key]);
  assert.match(released.out, /release recorded: releases\//);
  assert.ok(readdirSync(join(out, summary.callId)).some((f) => f.endsWith('-caller-1.wav')), 'a copy of the caller\'s leg');
  assert.ok(existsSync(join(out, summary.callId, `${summary.callId}.wav`)), 'and the stereo mix');

  const exported = recgw(['export', '--call', summary.callId, '--out', join(gw.storeDir, '..', 'export'), '--by', 'auditor', ...key]);
  assert.equal(exported.code, 0, exported.err);
  const records: Release[] = readdirSync(join(gw.storeDir, 'releases'))
    .filter((f) => f.endsWith('.json') && !f.endsWith('.meta.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(gw.storeDir, 'releases', f), 'utf8')) as Release);
  assert.deepEqual(
    records.map((r) => [r.tool, r.by, r.reason, r.released]),
    [
      ['find', 'records-officer', 'SAR-2026-041', [summary.callId]],
      ['export', 'auditor', 'not given', [summary.callId]],
    ],
  );
  assert.deepEqual(records[0]?.query, { search: 'number' }, 'the number itself is personal data: not in the store in plain');
  const stored = readdirSync(join(gw.storeDir, 'releases')).map((f) => readFileSync(join(gw.storeDir, 'releases', f), 'utf8')).join('\n');
  assert.doesNotMatch(stored, /7700900123/);

  // An auditor lists a line's calls: a call that never ended (only its start manifest, as a crash leaves it) is marked.
  const startManifest = await streamToBuffer(await store.get(manifestKey('helpline', summary.callId, startedAt, 'start')));
  await store.put(manifestKey('helpline', 'crashed-call', startedAt, 'start'), startManifest, { tags: {} });
  const line = recgw(['find', '--line', 'helpline', '--from', day, '--to', day, ...key]);
  assert.equal(line.code, 1, 'the manifest sealed for another key is still named');
  assert.match(line.out, new RegExp(`${summary.callId}  line helpline  inbound  07700900123 -> 1000  operator \\S+\\n`), 'whole: no mark');
  assert.match(line.out, /crashed-call {2}line helpline .* INCOMPLETE\n/);
  assert.match(line.out, /2 calls of line helpline in 3 read, 1 incomplete/);

  // An object lost from the store after the call (deleted by hand, a bucket rule): the search says which.
  const agentKey = (await objectsOfCall(store, summary.callId)).map((o) => o.key).find((k) => k.endsWith('/agent-1.rec'));
  assert.ok(agentKey);
  await store.delete(agentKey);
  const lost = recgw(['find', '--line', 'helpline', '--from', day, '--to', day, ...key]);
  assert.match(lost.out, new RegExp(`${summary.callId}  line helpline .* INCOMPLETE\n  agent segment 1 is not in the store: ${agentKey}\n`));
  assert.match(lost.out, /2 calls of line helpline in 3 read, 2 incomplete/);
  assert.equal(recgw(['find', ...key]).code, 2, 'neither a number nor a line: refused, never the whole store');
});
