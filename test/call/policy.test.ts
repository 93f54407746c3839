/**
 * Line policy end to end, through a real gateway with SIPp at both ends: a
 * schedule switches recording on and off by the clock, a confidential
 * extension behind a recorded prefix is carried unrecorded, outbound calls
 * from the agent side leave by the trunk and are recorded by the calling
 * extension's line, and the most specific line takes a dialled number.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { Sipp } from '../../src/cli/sipp.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { describeAudio } from '../../src/sip/sdp.js';
import { assertHoldsExactly, assertSippOk, bodyOf, capturedAudio, pcapAudio, sippMediaPort, startCall, tracedMessages, type CallRun } from '../helpers/calls.js';
import { eventually, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const pcap = pcapAudio();
/** Long enough for both ends to play the whole pcap before the caller hangs up. */
const WHOLE_PCAP_MS = 8000;

async function assertNothingLeft(gw: TestGateway): Promise<void> {
  await eventually('no call, dialog or RTP port left', () => gw.running.gateway.activeCalls.size === 0 && gw.running.gateway.allocator.inUse === 0 && gw.running.engine.stats.dialogs === 0);
}

/** Every packet of both ends went through the gateway to the other end. */
function assertRelayed({ summary }: CallRun): void {
  assert.equal(summary.reason, 'caller-bye');
  assert.equal(summary.legs.caller?.relayed, pcap.packets.length, "all the caller's packets relayed");
  assert.equal(summary.legs.agent?.relayed, pcap.packets.length, "all the far end's packets relayed");
}

/** Both legs captured byte for byte under the call's id, with a start and a final manifest. */
function assertRecorded(gw: TestGateway, { summary }: CallRun): void {
  assert.equal(summary.recorded, true, 'the call is recorded');
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'caller'), pcap.audio, PCMA_SILENCE);
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'agent'), pcap.audio, PCMA_SILENCE);
  assert.deepEqual(gw.writer.manifests.filter((m) => m.callId === summary.callId).map((m) => m.stage), ['start', 'final']);
}

/** Nothing of the call is captured: no segment, no manifest. */
function assertNotRecorded(gw: TestGateway, { summary }: CallRun): void {
  assert.equal(summary.recorded, false, 'the call is not recorded');
  assert.equal(gw.writer.segments.filter((s) => s.info.callId === summary.callId).length, 0, 'no segment');
  assert.equal(gw.writer.manifests.filter((m) => m.callId === summary.callId).length, 0, 'no manifest');
}

/** The caller heard our announcement (early media: 183 with SDP), or heard nothing of it. */
function assertAnnounced({ caller, summary }: CallRun, announced: boolean): void {
  const early = tracedMessages(caller.messages, /^SIP\/2\.0 183/);
  if (announced) {
    assert.equal(summary.announcement, 'played');
    assert.ok(early.length > 0, 'the caller got 183 with the announcement');
  } else {
    assert.equal(summary.announcement, undefined, 'no announcement played');
    assert.equal(early.length, 0, 'the caller got no 183: the queue only rings (180)');
  }
}

/** The user part of the request URI of the first INVITE a SIPp end received. */
function invitedUser(run: CallRun['agent']): string | undefined {
  const invite = tracedMessages(run.messages, /^INVITE /)[0] ?? '';
  return /^INVITE sips?:([^@\s]+)@/.exec(invite)?.[1];
}

test('a schedule line records inside its window and not outside it: the clock is read per call', async (t) => {
  // A Wednesday in June (BST, UTC+1): 11:00 local is in the window, 17:00 local is its (exclusive) end.
  let clock = new Date('2026-06-10T10:00:00Z');
  const gw = await startTestGateway({
    now: () => clock,
    lines: (agentPort, file) => [
      {
        number: '1000',
        name: 'elections',
        target: `sip:queue@127.0.0.1:${agentPort}`,
        record: 'schedule',
        schedule: [{ timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
        announcement: { file, mode: 'early' },
      },
    ],
  });
  t.after(() => gw.stop());

  const inside = await (await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: WHOLE_PCAP_MS, traceMessages: true } })).finished;
  assertRelayed(inside);
  assertAnnounced(inside, true);
  assertRecorded(gw, inside);

  clock = new Date('2026-06-10T16:00:00Z');
  const outside = await (await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: WHOLE_PCAP_MS, traceMessages: true } })).finished;
  assertRelayed(outside);
  assertAnnounced(outside, false);
  assertNotRecorded(gw, outside);
  assert.equal(outside.summary.line, 'elections');
  await assertNothingLeft(gw);
});

test('an unrecorded extension behind a recorded prefix line is carried unrecorded and unannounced; its neighbour is recorded', async (t) => {
  const gw = await startTestGateway({
    lines: (agentPort, file) => [
      { prefix: '10', name: 'agents', target: `sip:queue@127.0.0.1:${agentPort}`, record: 'always', unrecordedExtensions: ['1099'], announcement: { file, mode: 'early' } },
    ],
  });
  t.after(() => gw.stop());

  const confidential = await (await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', service: '1099', pauseMs: WHOLE_PCAP_MS, traceMessages: true } })).finished;
  assertRelayed(confidential);
  assertAnnounced(confidential, false);
  assertNotRecorded(gw, confidential);
  assert.equal(confidential.summary.to, '1099');

  const neighbour = await (await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', service: '1001', pauseMs: WHOLE_PCAP_MS, traceMessages: true } })).finished;
  assertRelayed(neighbour);
  assertAnnounced(neighbour, true);
  assertRecorded(gw, neighbour);
  assert.equal(neighbour.summary.to, '1001');
  await assertNothingLeft(gw);
});

test('outbound: a nominated extension is recorded as outbound with itself as operator; another is carried unrecorded; a stranger gets 403', async (t) => {
  const farPort = await freePort();
  const gw = await startTestGateway({
    trunks: [{ name: 'pstn', addresses: ['127.0.0.1'], target: `sip:127.0.0.1:${farPort}` }],
    pbxs: [{ name: 'acd', addresses: ['127.0.0.2'], trunk: 'pstn' }],
    lines: (agentPort, file) => [
      { number: '1000', name: 'sales', target: `sip:queue@127.0.0.1:${agentPort}`, record: 'always', extensions: ['2001'], unrecordedExtensions: ['01632960999'], announcement: { file, mode: 'early' } },
    ],
  });
  t.after(() => gw.stop());
  /** The PBX (127.0.0.2) dials `called` from `extension`; the far end answers behind the trunk target. */
  const callOut = async (extension: string, called: string, pauseMs = WHOLE_PCAP_MS): Promise<CallRun> => {
    const started = await startCall(t, gw, {
      agent: { scenario: 'trunk-callee.xml', localPort: farPort, traceMessages: true },
      caller: {
        scenario: 'pbx-caller.xml',
        ip: '127.0.0.2',
        localPort: await freePort('127.0.0.2'),
        service: called,
        pauseMs,
        extraArgs: ['-key', 'extension', extension],
        traceMessages: true,
      },
    });
    return started.finished;
  };

  const nominated = await callOut('2001', '01632960000');
  assert.equal(invitedUser(nominated.agent), '01632960000', 'the far end is invited at the dialled number');
  const offer = describeAudio(bodyOf(tracedMessages(nominated.agent.messages, /^INVITE /)[0] ?? ''));
  assert.equal(offer.address, '127.0.0.1', "the far end is offered the gateway's media, not the PBX's (127.0.0.2)");
  assert.ok(offer.port >= gw.config.rtp.portMin && offer.port <= gw.config.rtp.portMax, `a gateway port (${offer.port})`);
  assertRelayed(nominated);
  assertAnnounced(nominated, false);
  assertRecorded(gw, nominated);
  assert.equal(nominated.summary.line, 'sales');
  assert.equal(nominated.summary.operator, '2001');
  const final = gw.writer.manifests.find((m) => m.callId === nominated.summary.callId && m.stage === 'final');
  assert.ok(final);
  assert.equal(final.direction, 'outbound');
  assert.equal(final.operator, '2001');
  assert.equal(final.callerNumber, '2001');
  assert.equal(final.calledNumber, '01632960000');
  assert.equal(final.line, 'sales');
  assert.equal(final.complete, true);

  const other = await callOut('2999', '01632960000');
  assert.equal(invitedUser(other.agent), '01632960000');
  assertRelayed(other);
  assertAnnounced(other, false);
  assertNotRecorded(gw, other);
  assert.equal(other.summary.line, 'outbound-acd', 'carried under no line');

  // A nominated extension calling a confidential number: its calls are never recorded, whichever way they go.
  const confidential = await callOut('2001', '01632960999', 500);
  assert.equal(invitedUser(confidential.agent), '01632960999');
  assert.equal(confidential.summary.reason, 'caller-bye');
  assert.equal(confidential.summary.line, 'sales');
  assertNotRecorded(gw, confidential);

  const stranger = new Sipp({
    scenario: 'caller-refused.xml',
    ip: '127.0.0.3',
    localPort: await freePort('127.0.0.3'),
    mediaPort: await sippMediaPort(),
    remote: `127.0.0.1:${gw.sipPort}`,
    service: '01632960000',
    traceMessages: true,
  });
  t.after(() => stranger.kill());
  const refused = await stranger.done;
  assertSippOk('stranger', refused, gw.logTail);
  assert.ok(tracedMessages(refused.messages, /^SIP\/2\.0 403/).length > 0, 'neither trunk nor PBX: 403');
  assert.equal(gw.running.gateway.stats.rejectedNotTrunk, 1);
  assert.equal(gw.running.gateway.stats.callsStarted, 3);
  await assertNothingLeft(gw);
});

test('a dialled number goes to its exact line first, else to the longest prefix line', async (t) => {
  const exactPort = await freePort();
  // Nobody answers here: a call routed to the shorter prefix would fail.
  const shortPrefixPort = await freePort();
  const gw = await startTestGateway({
    lines: (agentPort) => [
      { number: '1234', name: 'exact', target: `sip:exact@127.0.0.1:${exactPort}`, record: 'never' },
      { prefix: '12', name: 'short-prefix', target: `sip:short@127.0.0.1:${shortPrefixPort}`, record: 'never' },
      { prefix: '123', name: 'long-prefix', target: `sip:long@127.0.0.1:${agentPort}`, record: 'never' },
    ],
  });
  t.after(() => gw.stop());

  const prefixed = await (await startCall(t, gw, { agent: { scenario: 'agent.xml', traceMessages: true }, caller: { scenario: 'caller.xml', service: '1235', pauseMs: 500 } })).finished;
  assert.equal(prefixed.summary.line, 'long-prefix');
  assert.equal(invitedUser(prefixed.agent), 'long', "the longer prefix line's queue got the call");

  const exact = await (await startCall(t, gw, { agent: { scenario: 'agent.xml', localPort: exactPort, traceMessages: true }, caller: { scenario: 'caller.xml', service: '1234', pauseMs: 500 } })).finished;
  assert.equal(exact.summary.line, 'exact');
  assert.equal(invitedUser(exact.agent), 'exact', "the exact line's queue got the call, though both prefixes match");
  await assertNothingLeft(gw);
});
