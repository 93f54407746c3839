/**
 * When the store has been down long enough for the spool to fill, a recorded
 * line applies its policy: `reject` refuses new calls with 503, `continue`
 * carries them unrecorded. The store here is an S3 endpoint where nothing
 * listens, so the backlog stays in the spool. A spool whose disk is full
 * (a real small tmpfs), whatever its configured limit, does the same.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { Sipp } from '../../src/cli/sipp.js';
import { assertSippOk, sippMediaPort, startCall, tracedMessages } from '../helpers/calls.js';
import { eventually, startTestGateway, TEST_CONTROL_TOKEN } from '../helpers/gateway.js';
import type { HealthView } from '../../src/control/types.js';
import { smallDisk } from '../helpers/small-disk.js';

async function getHealth(port: number | undefined): Promise<HealthView> {
  assert.ok(port, 'the control API listens');
  const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${TEST_CONTROL_TOKEN}` } });
  assert.equal(res.status, 200, 'a degraded gateway still answers 200: it carries calls');
  return (await res.json()) as HealthView;
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
      lines: (agentPort, file) => [{ number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { file }, onRecordingFailure: policy }],
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
    assert.match(health.problems.join('\n'), /object store refusing uploads/);

    if (policy === 'reject') {
      const caller = new Sipp({ scenario: 'caller-refused.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', traceMessages: true });
      t.after(() => caller.kill());
      const c = await caller.done;
      assertSippOk('caller', c, gw.logTail);
      assert.equal(tracedMessages(c.messages, /^SIP\/2\.0 503/).length > 0, true, 'refused with 503');
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
    lines: (agentPort, file) => [{ number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { file }, onRecordingFailure: 'reject' }],
  });
  t.after(() => gw.stop());
  const health = await getHealth(gw.running.control?.port);
  assert.equal(health.status, 'degraded');
  assert.equal(health.spool?.full, false, 'the configured limit is far away');
  assert.equal(health.spool?.writeFault?.code, 'ENOSPC');
  assert.match(health.problems.join('\n'), /spool cannot write since .* \(ENOSPC: .*\): recorded lines apply onRecordingFailure/);

  const caller = new Sipp({ scenario: 'caller-refused.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', traceMessages: true });
  t.after(() => caller.kill());
  const c = await caller.done;
  assertSippOk('caller', c, gw.logTail);
  assert.equal(tracedMessages(c.messages, /^SIP\/2\.0 503/).length > 0, true, 'refused with 503');
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
