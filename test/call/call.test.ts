/**
 * Whole calls through a real gateway, SIPp as the trunk and as the agent
 * queue, real RTP from the sip-tester pcap both ways.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { Sipp } from '../../src/cli/sipp.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { describeAudio } from '../../src/sip/sdp.js';
import { assertHoldsExactly, assertSippOk, bodyOf, capturedAudio, nextCallEnded, pcapAudio, sippMediaPort, startCall, tracedMessages } from '../helpers/calls.js';
import { eventually, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const pcap = pcapAudio();

async function assertNothingLeft(gw: TestGateway): Promise<void> {
  await eventually('no call, dialog or RTP port left', () => gw.running.gateway.activeCalls.size === 0 && gw.running.gateway.allocator.inUse === 0 && gw.running.engine.stats.dialogs === 0);
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`${transport}: the caller hears the announcement, the agent answers, audio is relayed and captured byte for byte, the caller hangs up`, async (t) => {
    const gw = await startTestGateway({
      lines: (agentPort, file) => [
        { number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}${transport === 'tcp' ? ';transport=tcp' : ''}`, record: true, announcement: { file, mode: 'early' } },
      ],
    });
    t.after(() => gw.stop());
    const { finished } = await startCall(t, gw, {
      transport,
      agent: { scenario: 'agent.xml', traceMessages: true },
      // The caller's media on another loopback address: the agent must see only the gateway's.
      caller: { scenario: 'caller.xml', mediaIp: '127.0.0.3', pauseMs: 8000, traceMessages: true },
    });
    const { caller: c, agent: a, summary } = await finished;
    assert.equal(summary.reason, 'caller-bye');
    assert.equal(summary.operator, 'agent1001');

    // The early 183 and the 200 carry the gateway's media address, not the agent's.
    const toCaller = describeAudio(bodyOf(tracedMessages(c.messages, /^SIP\/2\.0 200/)[0] ?? ''));
    assert.equal(toCaller.address, '127.0.0.1');
    assert.ok(toCaller.port >= gw.config.rtp.portMin && toCaller.port <= gw.config.rtp.portMax, `caller answered with a gateway port (${toCaller.port})`);
    assert.equal(tracedMessages(c.messages, /^SIP\/2\.0 183/).length > 0, true, 'early media announced with 183');

    // The agent is offered the caller's codecs unchanged, at the gateway's address.
    const invite = tracedMessages(a.messages, /^INVITE /)[0];
    assert.ok(invite, 'agent received an INVITE');
    const offer = describeAudio(bodyOf(invite));
    assert.equal(offer.address, '127.0.0.1', 'agent INVITE SDP names the gateway, not the caller (127.0.0.3)');
    assert.ok(offer.port >= gw.config.rtp.portMin && offer.port <= gw.config.rtp.portMax, `agent offered a gateway port (${offer.port})`);
    assert.deepEqual(offer.codecs.map((x) => x.payloadType), [8, 101]);

    // Every packet of each side was accepted, relayed, and captured byte for byte.
    const { caller: callerLeg, agent: agentLeg } = summary.legs;
    assert.ok(callerLeg && agentLeg);
    assert.equal(callerLeg.accepted, pcap.packets.length);
    assert.equal(callerLeg.relayed, pcap.packets.length);
    assert.equal(agentLeg.accepted, pcap.packets.length);
    assert.equal(agentLeg.relayed, pcap.packets.length);
    assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'caller'), pcap.audio, PCMA_SILENCE);
    assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'agent'), pcap.audio, PCMA_SILENCE);

    // A manifest when capture started, and the final one: both legs, whole, with the call's facts.
    const manifests = gw.writer.manifests.filter((m) => m.callId === summary.callId);
    assert.deepEqual(manifests.map((m) => m.stage), ['start', 'final']);
    const final = manifests[1];
    assert.ok(final);
    assert.equal(final.complete, true);
    assert.equal(final.callerNumber, '07700900123');
    assert.equal(final.calledNumber, '1000');
    assert.equal(final.operator, 'agent1001');
    assert.equal(final.endReason, 'caller-bye');
    assert.deepEqual(final.segments.map((x) => [x.leg, x.samples]), [
      ['caller', capturedAudio(gw.writer, summary.callId, 'caller').length],
      ['agent', capturedAudio(gw.writer, summary.callId, 'agent').length],
    ]);
    assert.equal(manifests[0]?.complete, false, 'the start manifest says the call is not yet whole');
    await assertNothingLeft(gw);
  });
}

test('tcp: the agent hangs up, the caller gets the BYE', async (t) => {
  const gw = await startTestGateway({
    mode: 'answer',
    lines: (agentPort, file) => [{ number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort};transport=tcp`, record: true, announcement: { file, mode: 'answer' } }],
  });
  t.after(() => gw.stop());
  const { finished } = await startCall(t, gw, { transport: 'tcp', agent: { scenario: 'agent-hangup.xml', pauseMs: 8000 }, caller: { scenario: 'caller-wait-bye.xml' } });
  const { summary } = await finished;
  assert.equal(summary.reason, 'agent-bye');
  // Answered first, the caller talks over the announcement and the ringing to
  // nobody; capture starts when the agent does, so it holds the rest, byte for byte.
  const relayed = summary.legs.caller?.relayed ?? 0;
  assert.ok(relayed > pcap.packets.length / 2, `most of the caller's audio reached the agent (${relayed})`);
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'caller'), Buffer.concat(pcap.packets.slice(pcap.packets.length - relayed)), PCMA_SILENCE);
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'agent'), pcap.audio, PCMA_SILENCE);
  await assertNothingLeft(gw);
});

test('the caller cancels while the agent rings: CANCEL reaches the agent, 487 the caller, nothing is captured', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent-ring-cancel.xml' }, caller: { scenario: 'caller-cancel.xml', pauseMs: 500 } });
  const { summary } = await finished;
  assert.equal(summary.reason, 'caller-cancel');
  assert.equal(summary.recorded, false);
  assert.equal(gw.writer.segments.length, 0);
  await assertNothingLeft(gw);
});

test('a queue that rings past sip.ringTimeoutSec is cancelled and the caller gets 408', async (t) => {
  const gw = await startTestGateway({ ringTimeoutSec: 1 });
  t.after(() => gw.stop());
  // agent-ring-cancel.xml fails unless it gets the CANCEL.
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent-ring-cancel.xml' }, caller: { scenario: 'caller-refused.xml', traceMessages: true } });
  const { caller: c, summary } = await finished;
  assert.equal(tracedMessages(c.messages, /^SIP\/2\.0 408/).length > 0, true, 'caller received 408');
  assert.equal(summary.reason, 'ring-timeout');
  assert.equal(gw.writer.segments.length, 0);
  await assertNothingLeft(gw);
});

test('a busy agent: 486 reaches the caller', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent-busy.xml' }, caller: { scenario: 'caller-refused.xml', traceMessages: true } });
  const { caller: c, summary } = await finished;
  assert.equal(tracedMessages(c.messages, /^SIP\/2\.0 486/).length > 0, true, 'caller received 486');
  assert.equal(summary.reason, 'agent-failed');
  assert.equal(summary.status, 486);
  assert.deepEqual(warnings(gw), [], 'a busy queue answered: nothing to warn about');
  await assertNothingLeft(gw);
});

/**
 * A call to a line whose target nobody serves: the status the caller got, and
 * the one warning the gateway logged, which must name the target.
 */
async function callNobody(t: TestContext, transport: 'udp' | 'tcp'): Promise<{ status: number; warning: string }> {
  const nobody = await freePort(); // never bound: nothing there answers or accepts
  const target = `sip:queue@127.0.0.1:${nobody}${transport === 'tcp' ? ';transport=tcp' : ''}`;
  const gw = await startTestGateway({ lines: () => [{ number: '1000', name: 'helpline', target, record: 'never' }] });
  t.after(() => gw.stop());
  const ended = nextCallEnded(gw.running.gateway);
  const caller = new Sipp({ scenario: 'caller-refused.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', traceMessages: true });
  t.after(() => caller.kill());
  const c = await caller.done;
  assertSippOk('caller', c, gw.logTail);
  const summary = await ended;
  assert.equal(summary.reason, 'agent-failed');
  assert.equal(tracedMessages(c.messages, new RegExp(`^SIP/2\\.0 ${String(summary.status)}`)).length > 0, true, `the caller received the ${String(summary.status)}`);
  const [warning, ...more] = warnings(gw);
  assert.equal(more.length, 0, 'one warning');
  assert.equal(warning?.['target'], target, 'the warning names where the INVITE went');
  await assertNothingLeft(gw);
  return { status: summary.status ?? 0, warning: String(warning?.['msg']) };
}

test('an agent side that never answers: the caller gets 408 when the INVITE times out, and the gateway warns, naming the target', async (t) => {
  const { status, warning } = await callNobody(t, 'udp');
  assert.equal(status, 408);
  assert.match(warning, /agent side sent no response at all to the INVITE/);
});

test('an agent side that refuses the connection (TCP, nobody listening): the caller gets 503 at once, and the gateway warns', async (t) => {
  const { status, warning } = await callNobody(t, 'tcp');
  assert.equal(status, 503);
  assert.match(warning, /agent side could not be reached/);
});

/** The gateway's log lines at warn (40) and above. */
function warnings(gw: TestGateway): Record<string, unknown>[] {
  return gw
    .logTail()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => Number(entry['level']) >= 40);
}

test('an INVITE from an address that is no trunk gets 403, one to a number that is no line 404', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const stranger = new Sipp({ scenario: 'caller-refused.xml', ip: '127.0.0.2', localPort: await freePort('127.0.0.2'), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', traceMessages: true });
  const r1 = await stranger.done;
  assertSippOk('stranger', r1, gw.logTail);
  assert.equal(tracedMessages(r1.messages, /^SIP\/2\.0 403/).length > 0, true, 'non-trunk INVITE refused with 403');
  const wrongNumber = new Sipp({ scenario: 'caller-refused.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '9999', traceMessages: true });
  const r2 = await wrongNumber.done;
  assertSippOk('wrong number', r2, gw.logTail);
  assert.equal(tracedMessages(r2.messages, /^SIP\/2\.0 404/).length > 0, true, 'unknown line refused with 404');
  assert.equal(gw.running.gateway.stats.rejectedNotTrunk, 1);
  assert.equal(gw.running.gateway.stats.rejectedNoLine, 1);
  assert.equal(gw.running.gateway.stats.callsStarted, 0);
  await assertNothingLeft(gw);
});

test('hold and unhold (sendonly, 0.0.0.0 inactive, sendrecv) pass through; the caller leg re-latches and stays aligned', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const { finished } = await startCall(t, gw, {
    agent: { scenario: 'agent-hold.xml', traceMessages: true, timeoutSec: 45 },
    caller: { scenario: 'caller-hold.xml', traceMessages: true, timeoutSec: 45 },
  });
  const { caller: c, agent: a, summary } = await finished;
  const reinvites = tracedMessages(a.messages, /^INVITE /).slice(1).map((m) => describeAudio(bodyOf(m)));
  assert.deepEqual(reinvites.map((d) => d.direction), ['sendonly', 'inactive', 'sendrecv']);
  assert.deepEqual(reinvites.map((d) => d.address), ['127.0.0.1', '0.0.0.0', '127.0.0.1'], 'RFC 2543 hold address passes through');
  const answers = tracedMessages(c.messages, /^SIP\/2\.0 200/).filter((m) => /CSeq:\s*[234] INVITE/i.test(m)).map((m) => describeAudio(bodyOf(m)).direction);
  assert.deepEqual(answers, ['recvonly', 'inactive', 'sendrecv']);
  assert.equal(summary.reason, 'caller-bye');
  // The caller played the pcap before the hold and again after it: both land whole, silence between.
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'caller'), pcap.audio, PCMA_SILENCE, 2);
  await assertNothingLeft(gw);
});

for (const press of [false, true]) {
  test(`announcement: the caller hears it as early media${press ? ' and pressing 1 (RFC 4733) plays the second message' : ''}`, async (t) => {
    const gw = await startTestGateway({
      lines: (agentPort, file, secondFile) => [
        {
          number: '1000',
          name: 'helpline',
          target: `sip:queue@127.0.0.1:${agentPort}`,
          record: true,
          announcement: { file, mode: 'early', secondMessage: { file: secondFile, key: '1' } },
        },
      ],
      announcementMs: 3000,
    });
    t.after(() => gw.stop());
    const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: press ? 'caller-second-message.xml' : 'caller.xml', pauseMs: 1000 } });
    const { summary } = await finished;
    const sentToCaller = summary.legs.caller?.sent ?? 0;
    const relayedToCaller = summary.legs.agent?.relayed ?? 0;
    const announcementPackets = sentToCaller - relayedToCaller;
    if (press) {
      assert.equal(summary.announcement, 'played-second');
      // The first message is cut short at the key; the whole 2 s second message follows.
      assert.ok(announcementPackets >= 100 && announcementPackets < 150 + 100, `announcement packets ${announcementPackets}`);
    } else {
      assert.equal(summary.announcement, 'played');
      assert.equal(announcementPackets, 150, '3 s of 20 ms packets reached the caller');
    }
  });
}
