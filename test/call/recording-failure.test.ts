/**
 * When the store has been down long enough for the spool to fill, a recorded
 * line applies its policy: `reject` refuses new calls with 503, `continue`
 * carries them unrecorded. The store here is an S3 endpoint where nothing
 * listens, so the backlog stays in the spool.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { Sipp } from '../../src/cli/sipp.js';
import { assertSippOk, sippMediaPort, startCall, tracedMessages } from '../helpers/calls.js';
import { eventually, startTestGateway } from '../helpers/gateway.js';

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

    if (policy === 'reject') {
      const caller = new Sipp({ scenario: 'caller-refused.xml', localPort: await freePort(), mediaPort: sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', traceMessages: true });
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
