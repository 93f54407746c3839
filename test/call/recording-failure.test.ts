/**
 * When the store has been down long enough for the spool to fill, a recorded
 * line applies its policy: `reject` refuses new calls with 503, `continue`
 * carries them unrecorded. The store here is an S3 endpoint where nothing
 * listens, so the backlog stays in the spool. A spool whose disk is full
 * (a real small tmpfs), whatever its configured limit, does the same; one
 * that fills mid-call costs the call only what was said meanwhile.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportCall } from '../../src/access/export.js';
import { freePort } from '../../src/cli/free-port.js';
import { openRecording } from '../../src/crypto/format.js';
import { loadDecryptionKey } from '../../src/crypto/keys.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { FsStore } from '../../src/storage/fs.js';
import { assertRefused, pcapAudio, startCall } from '../helpers/calls.js';
import { eventually, startTestGateway, TEST_CONTROL_TOKEN } from '../helpers/gateway.js';
import type { HealthView } from '../../src/control/types.js';
import { smallDisk } from '../helpers/small-disk.js';

async function getHealth(port: number | undefined): Promise<HealthView> {
  assert.ok(port, 'the control API listens');
  const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${TEST_CONTROL_TOKEN}` } });
  assert.equal(res.status, 200, 'a degraded gateway still answers 200: it carries calls');
  return (await res.json()) as HealthView;
}

/** Line 1000, recorded, with the given onRecordingFailure policy. */
function helpline(policy: 'reject' | 'continue'): (agentPort: number, file: string) => unknown[] {
  return (agentPort, file) => [{ number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { file }, onRecordingFailure: policy }];
}

for (const policy of ['reject', 'continue'] as const) {
  test(`a full spool with onRecordingFailure: ${policy}`, async (t) => {
    const deadStore = await freePort();
    process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
    const gw = await startTestGateway({
      pipeline: true,
      spoolMaxBytes: 1 << 20,
      storage: { kind: 's3', bucket: 'recordings', endpoint: `http://127.0.0.1:${deadStore}`, pathStyle: true },
      lines: helpline(policy),
    });
    t.after(() => gw.stop());
    const pipeline = gw.running.pipeline;
    assert.ok(pipeline);
    // A backlog the dead store cannot take: sealed bytes (opaque to the spool) past its limit.
    const backlog = pipeline.spool.create({ key: 'backlog/old.rec', kind: 'audio', callId: 'old', tags: {} });
    backlog.append(Buffer.alloc(1 << 20, 0x5a));
    await backlog.seal();
    await eventually('spool full', () => pipeline.spool.full);
    await eventually('an upload to the dead store failed', () => pipeline.uploader.stats.failuresSinceSuccess > 0, 15_000);
    // What the on-call engineer's check sees: degraded, and why.
    const health = await getHealth(gw.running.control?.port);
    assert.equal(health.status, 'degraded');
    assert.equal(health.spool?.full, true);
    assert.match(health.problems.join('\n'), /spool full \(1\.0 MiB of 1\.0 MiB, 1 entry\): recorded lines apply onRecordingFailure/);
    assert.match(health.problems.join('\n'), /object store refusing uploads: \d+ failed attempts since the last success \(the last at \S+: STORE_UNAVAILABLE: /);

    if (policy === 'reject') {
      await assertRefused(t, gw);
      assert.equal(gw.running.gateway.stats.callsStarted, 0);
    } else {
      const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 1000 } });
      const { summary } = await finished;
      assert.equal(summary.reason, 'caller-bye');
      assert.equal(summary.recorded, false, 'carried unrecorded');
      assert.equal(summary.announcement, 'played', 'the caller is still told the line is recorded');
    }
    assert.equal(gw.running.gateway.stats.recordingUnavailable, 1);
  });
}

test('a spool on a disk that is full (far below its configured limit): recorded calls are refused with 503 and /health names the error; once the disk has room again, calls are recorded', async (t) => {
  const disk = await smallDisk(t, 8 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  await disk.fill(64 << 10);
  const gw = await startTestGateway({
    pipeline: true,
    spoolDir: join(disk.dir, 'spool'),
    lines: helpline('reject'),
  });
  t.after(() => gw.stop());
  const health = await getHealth(gw.running.control?.port);
  assert.equal(health.status, 'degraded');
  assert.equal(health.spool?.full, false, 'the configured limit is far away');
  assert.equal(health.spool?.writeFault?.code, 'ENOSPC');
  assert.match(health.problems.join('\n'), /spool cannot write since .* \(ENOSPC: .*\): recorded lines apply onRecordingFailure/);

  await assertRefused(t, gw);
  assert.equal(gw.running.gateway.stats.recordingUnavailable, 1);

  await disk.free();
  // The spool tries a test write every 5 s while it cannot write.
  await eventually('the spool writable again', () => gw.running.pipeline?.spool.fault === undefined, 15_000);
  assert.equal((await getHealth(gw.running.control?.port)).status, 'ok');
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 1000 } });
  const { summary } = await finished;
  assert.equal(summary.reason, 'caller-bye');
  assert.equal(summary.recorded, true, 'recorded again');
  assert.equal(gw.running.gateway.stats.recordingUnavailable, 1);
});

test("the spool's disk fills mid-call: the call goes on, the legs go on in new segments once it has room, and the export names what is missing and why", async (t) => {
  const disk = await smallDisk(t, 8 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  const gw = await startTestGateway({ pipeline: true, spoolDir: join(disk.dir, 'spool') });
  t.after(() => gw.stop());
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  const pcap = pcapAudio();
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml', timeoutSec: 60 }, caller: { scenario: 'caller.xml', pauseMs: 14_000, timeoutSec: 60 } });
  const call = await started.call;
  await new Promise<void>((resolve) => call.once('answered', resolve));
  // Capture holds 1.2 s back (lookback and jitter): by now about two seconds are sealed into the spool.
  await sleep(3000);
  await disk.fill(0);
  await eventually('the spool to fault', () => pipeline.spool.fault !== undefined, 5000);
  assert.equal(pipeline.spool.fault?.code, 'ENOSPC');
  await sleep(1000);
  await disk.free();
  await eventually('the spool writable again', () => pipeline.spool.fault === undefined, 15_000);
  assert.equal(call.ended, false, 'the call carried on throughout');
  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye');
  assert.equal(await pipeline.uploader.drain(20_000), true, 'everything reaches the store, the failed segments too');
  assert.match(gw.logTail(), /recording incomplete: segments could not be closed/, 'the call\'s log says so');
  assert.equal(summary.recording, 'incomplete');
  assert.equal(gw.running.gateway.stats.recordingsIncomplete, 1, 'counted, for /health and /metrics');
  assert.deepEqual(gw.running.gateway.lineCalls.get('helpline'), { complete: 0, incomplete: 1, unrecorded: 0 });

  const store = new FsStore({ dir: gw.storeDir });
  const kdk = loadDecryptionKey(gw.privateKeyFile);
  const out = join(gw.storeDir, '..', 'export');
  const exported = await exportCall(store, summary.callId, kdk, out, { allowIncomplete: true });
  const byLeg = (leg: string): Array<[number, boolean]> => exported.legs.filter((l) => l.leg === leg).map((l): [number, boolean] => [l.segment, l.complete]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(byLeg('caller'), [[1, false], [2, true]]);
  assert.deepEqual(byLeg('agent'), [[1, false], [2, true]]);
  const failed = exported.manifest?.segments.filter((s) => !s.complete) ?? [];
  assert.equal(failed.length, 2);
  for (const s of failed) assert.match(s.failure ?? '', /ENOSPC/, `the manifest says why ${s.leg} segment ${s.segment} is incomplete`);
  assert.equal(exported.manifest?.complete, false);
  const notes = exported.notes.join('\n');
  assert.match(notes, /caller segment 1 is incomplete \(.*ENOSPC.*\): \d+\.\d\d s kept/);
  assert.match(notes, /caller: \d+\.\d\d s missing before segment 2/);
  assert.match(notes, /agent: \d+\.\d\d s missing before segment 2/);

  // What reached the disk before it filled is the audio SIPp sent, up to the failure.
  const first = openRecording(readFileSync(join(gw.storeDir, failed.find((s) => s.leg === 'caller')?.key ?? '')), kdk, { allowIncomplete: true });
  const kept = Buffer.concat(first.chunks);
  assert.ok(kept.length >= 8000, `at least a second kept (${kept.length / 8000} s)`);
  const lastChunk = first.chunks.at(-1) ?? Buffer.alloc(0);
  assert.ok(lastChunk.some((b) => b !== PCMA_SILENCE), 'the last chunk kept holds speech');
  assert.ok(pcap.audio.indexOf(lastChunk) >= 0, 'the last chunk kept is SIPp audio, byte for byte');
});

test('a spool disk under its reserve (spool.minFreeBytes): recorded calls are refused with 503 before any write fails', async (t) => {
  const disk = await smallDisk(t, 8 << 20);
  if (typeof disk === 'string') return t.skip(disk);
  await disk.fill(3 << 20);
  const gw = await startTestGateway({
    pipeline: true,
    spoolDir: join(disk.dir, 'spool'),
    spoolMinFreeBytes: 4 << 20,
    lines: helpline('reject'),
  });
  t.after(() => gw.stop());
  const health = await getHealth(gw.running.control?.port);
  assert.equal(health.spool?.low, true);
  assert.equal(health.spool?.writeFault, undefined, 'nothing has failed');
  assert.match(health.problems.join('\n'), /spool disk low/);
  await assertRefused(t, gw);
  assert.equal(gw.running.gateway.stats.recordingUnavailable, 1);
});
