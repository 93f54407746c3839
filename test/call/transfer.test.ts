/**
 * Transfers from the agent side, with real SIPp peers: REFER (blind and
 * attended, to an agent, to a payment target, to an unrecorded extension, to
 * a busy target), a re-INVITE or an UPDATE asserting another agent, and an
 * INVITE with Replaces. The first agent talks with the sip-tester speech
 * pcap; the caller with noise of the test's own making; the transfer target
 * echoes what it gets, so its "voice" is the caller's noise arriving on the
 * agent leg. What each segment holds is then told apart byte for byte.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Call } from '../../src/call/call.js';
import { parseReferTo, parseReplaces } from '../../src/call/transfer.js';
import { freePort } from '../../src/cli/free-port.js';
import { scenarioPath, Sipp, type SippResult } from '../../src/cli/sipp.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import type { Manifest } from '../../src/recording/manifest.js';
import type { MemorySegment } from '../../src/recording/memory-writer.js';
import { assertHoldsExactly, assertSippOk, bodyOf, pcapAudio, sippMediaPort, startCall, tracedMessages, type CallRun } from '../helpers/calls.js';
import { eventually, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { noiseAudio, writeAudioPcap, type RtpAudio } from '../helpers/rtp-pcap.js';

/** The first agent's voice. */
const speech = pcapAudio();
/** The caller's voice: longer than any call here, so it still flows when the transfer target answers. */
const noise = noiseAudio({ seed: 5, ms: 12_000 });
/** Where the transfer target listens: another loopback address, so the old agent's stray packets cannot reach the new agent's latch. */
const TARGET_IP = '127.0.0.2';

/** The caller scenario, next to the pcap it plays (SIPp looks for pcaps next to the scenario first). */
function callerScenario(t: TestContext, voice: RtpAudio, name = 'caller-transfer.xml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-transfer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const scenario = join(dir, name);
  copyFileSync(scenarioPath(name), scenario);
  writeAudioPcap(join(dir, 'caller-transfer.pcap'), voice);
  return scenario;
}

interface Target {
  readonly port: number;
  readonly done: Promise<SippResult>;
  /** It answers and echoes RTP (else it refuses the call). */
  readonly answers: boolean;
}

/** The transfer target: agent2002, echoing every RTP packet it gets, or busy. */
async function startTarget(t: TestContext, scenario: 'agent2-answer.xml' | 'agent-busy.xml' = 'agent2-answer.xml'): Promise<Target> {
  const port = await freePort(TARGET_IP);
  const answers = scenario === 'agent2-answer.xml';
  const sipp = new Sipp({ scenario, ip: TARGET_IP, localPort: port, mediaPort: await sippMediaPort(), traceMessages: true, ...(answers ? { extraArgs: ['-rtp_echo'] } : {}) });
  t.after(() => sipp.kill());
  return { port, done: sipp.done, answers };
}

interface TransferRun extends CallRun {
  readonly call: Call;
  readonly target?: SippResult;
  readonly final: Manifest;
}

async function run(
  t: TestContext,
  gw: TestGateway,
  opts: { agentScenario: string; referTo?: string; target?: Target; caller?: { scenario: string; pauseMs: number } },
): Promise<TransferRun> {
  const started = await startCall(t, gw, {
    agent: { scenario: opts.agentScenario, pauseMs: 4000, traceMessages: true, ...(opts.referTo !== undefined ? { extraArgs: ['-key', 'referTo', opts.referTo] } : {}) },
    caller: { ...(opts.caller ?? { scenario: callerScenario(t, noise), pauseMs: 4000 }), traceMessages: true },
  });
  const call = await started.call;
  if (opts.target?.answers === true) {
    // The target's echo latches the agent leg: the caller's audio reached the new agent, and came back from it.
    await eventually('the transfer target sends RTP', () => call.agentLeg?.latchedTo?.address === TARGET_IP, 15_000);
  }
  const finished = await started.finished;
  const target = opts.target ? await opts.target.done : undefined;
  if (target) assertSippOk('transfer target', target, gw.logTail);
  const final = gw.writer.manifests.find((m) => m.callId === finished.summary.callId && m.stage === 'final');
  assert.ok(final, 'a final manifest');
  return { ...finished, call, ...(target ? { target } : {}), final };
}

function segmentsOf(gw: TestGateway, callId: string, leg: 'caller' | 'agent'): MemorySegment[] {
  const segs = gw.writer.segments.filter((s) => s.info.callId === callId && s.info.leg === leg);
  for (const s of segs) assert.ok(s.closed, `${leg} segment ${s.info.segment} closed`);
  return segs;
}

/** How many of `packets` (those that are not all silence) appear byte for byte in `audio`. */
function packetsIn(audio: Buffer, packets: readonly Buffer[]): number {
  return packets.filter((p) => p.some((b) => b !== PCMA_SILENCE) && audio.includes(p)).length;
}

/** Where in `audio` (sample offsets, of how many) those of `packets` that it holds are: for a failure's message. */
function whereIn(audio: Buffer, packets: readonly Buffer[]): string {
  const at = packets.filter((p) => p.some((b) => b !== PCMA_SILENCE)).map((p) => audio.indexOf(p)).filter((i) => i >= 0);
  return `at ${at.slice(0, 5).join(', ')} of ${audio.length}`;
}

/**
 * Asserts that `audio` holds the beginning of `source` and nothing else:
 * silence, then `source` from its first sound on, cut off somewhere, then
 * silence to the end. Returns how many samples of `source` it holds.
 */
function assertHoldsBeginningOf(audio: Buffer, source: Buffer): number {
  const from = source.findIndex((b) => b !== PCMA_SILENCE);
  const at = audio.findIndex((b) => b !== PCMA_SILENCE);
  assert.ok(from >= 0 && at >= 0, 'both hold sound');
  let n = 0;
  while (at + n < audio.length && from + n < source.length && audio[at + n] === source[from + n]) n++;
  const rest = audio.subarray(at + n).findIndex((b) => b !== PCMA_SILENCE);
  assert.equal(rest, -1, `after ${n} samples of the source, only silence (found sound ${rest} samples further)`);
  return from + n;
}

/**
 * Asserts that `audio` holds all of `source` from its first sound, aligned,
 * except one stretch of silence (a paused window), and nothing after it.
 * Returns where in `source` that stretch lies.
 */
function assertHoldsAllButOneGap(audio: Buffer, source: Buffer): { start: number; end: number } {
  const from = source.findIndex((b) => b !== PCMA_SILENCE);
  const at = audio.findIndex((b) => b !== PCMA_SILENCE);
  assert.ok(from >= 0 && at >= 0, 'both hold sound');
  let first = -1;
  let last = -1;
  for (let k = 0; from + k < source.length; k++) {
    if (audio[at + k] === source[from + k]) continue;
    if (first < 0) first = k;
    last = k;
  }
  assert.ok(first >= 0, 'a stretch is missing');
  assert.equal(audio.subarray(at + first, at + last + 1).findIndex((b) => b !== PCMA_SILENCE), -1, 'what is missing is one stretch of silence');
  assert.equal(audio.subarray(at + source.length - from).findIndex((b) => b !== PCMA_SILENCE), -1, 'nothing after the source');
  return { start: from + first, end: from + last + 1 };
}

function notifies(agent: SippResult): { body: string; state: string }[] {
  return tracedMessages(agent.messages, /^NOTIFY /).map((m) => ({
    body: bodyOf(m).trim(),
    state: /^Subscription-State:\s*(.*)$/im.exec(m)?.[1]?.trim() ?? '',
  }));
}

function helpline(onTransfer: 'stop' | 'split', extra: Record<string, unknown> = {}) {
  return (agentPort: number, file: string): unknown[] => [
    { number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { file, mode: 'early' }, onTransfer, ...extra },
  ];
}

/**
 * A call on `lines` whose agent REFERs it to `user` at a target that answers;
 * the caller hangs up at the end, as every such test expects.
 */
async function referredCall(t: TestContext, lines: ReturnType<typeof helpline>, user: string): Promise<{ gw: TestGateway; r: TransferRun; referTo: string }> {
  const gw = await startTestGateway({ lines });
  t.after(() => gw.stop());
  const target = await startTarget(t);
  const referTo = `sip:${user}@${TARGET_IP}:${target.port}`;
  const r = await run(t, gw, { agentScenario: 'agent-refer.xml', referTo, target });
  assert.equal(r.summary.reason, 'caller-bye');
  return { gw, r, referTo };
}

test('Refer-To: the target URI, and the Replaces of an attended transfer decoded; anything else is refused', () => {
  assert.deepEqual(parseReferTo('<sip:2002@pbx;transport=tcp>'), { uri: 'sip:2002@pbx;transport=tcp' });
  assert.deepEqual(parseReferTo('"Desk" <sip:2002@pbx?Replaces=abc%40pbx%3Bto-tag%3D1%3Bfrom-tag%3D2&Require=replaces>'), {
    uri: 'sip:2002@pbx',
    replaces: 'abc@pbx;to-tag=1;from-tag=2',
  });
  assert.deepEqual(parseReferTo('sip:2002@pbx'), { uri: 'sip:2002@pbx' });
  for (const bad of [undefined, '', '<tel:+441234>', '<http://x>', '<sip:2002@pbx?Replaces=%E0%A4%A>']) assert.equal(parseReferTo(bad), null, String(bad));
});

test('Replaces: call-id and both tags, in either order; a tag missing is no Replaces', () => {
  assert.deepEqual(parseReplaces('abc@pbx;to-tag=1;from-tag=2'), { callId: 'abc@pbx', toTag: '1', fromTag: '2' });
  assert.deepEqual(parseReplaces('abc@pbx; from-tag=2 ;early-only; to-tag=1'), { callId: 'abc@pbx', toTag: '1', fromTag: '2' });
  assert.equal(parseReplaces('abc@pbx;to-tag=1'), null);
  assert.equal(parseReplaces(undefined), null);
});

test('REFER, line says stop: 202 and NOTIFYs, the caller goes to the new agent, capture ends at the transfer and holds nothing of the new agent', async (t) => {
  const { gw, r, referTo } = await referredCall(t, helpline('stop'), 'agent2002');

  // The transferor heard progress and the outcome, then was let go.
  assert.equal(tracedMessages(r.agent.messages, /^SIP\/2\.0 202/).length, 1, '202 Accepted');
  const n = notifies(r.agent);
  assert.deepEqual(n.map((x) => x.body), ['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
  assert.match(n[0]?.state ?? '', /^active/);
  assert.match(n[1]?.state ?? '', /^terminated/);
  const invite = tracedMessages(r.target?.messages ?? '', /^INVITE /)[0];
  assert.ok(invite, 'the target was called');
  assert.doesNotMatch(invite, /^Replaces:/im, 'a blind transfer replaces nothing');

  assert.equal(r.final.transfers?.length, 1);
  const transfer = r.final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape: 'refer', target: referTo, from: 'agent1001', to: 'agent2002', action: 'stop' });
  assert.equal(r.final.stopped?.trigger, 'transfer-refer');
  assert.equal(r.final.operator, 'agent2002', 'the call ends with the new agent');

  // One segment per leg: the first agent's speech up to the transfer, the caller's noise up to it, nothing after.
  const [agentSeg, ...moreAgent] = segmentsOf(gw, r.summary.callId, 'agent');
  const [callerSeg, ...moreCaller] = segmentsOf(gw, r.summary.callId, 'caller');
  assert.ok(agentSeg && callerSeg);
  assert.equal(moreAgent.length + moreCaller.length, 0, 'no segment after the transfer');
  assert.equal(agentSeg.info.operator, 'agent1001');
  const agentHeard = assertHoldsBeginningOf(agentSeg.audio(), speech.audio);
  assert.ok(agentHeard > 8000 / 2 && agentHeard < speech.audio.length - 8000, `the first agent's speech, cut at the transfer (${agentHeard} of ${speech.audio.length} samples)`);
  assert.equal(packetsIn(agentSeg.audio(), noise.packets), 0, "nothing of the new agent's audio (the caller's echo) on the agent leg");
  const callerHeard = assertHoldsBeginningOf(callerSeg.audio(), noise.audio);
  assert.ok(callerHeard < noise.audio.length - 4 * 8000, `the caller's noise, cut at the transfer (${callerHeard} samples)`);
});

test('REFER, line says split: a second segment per leg names the new agent and holds the new agent, the first holds the old one', async (t) => {
  const { gw, r, referTo } = await referredCall(t, helpline('split'), 'agent2002');
  const transfer = r.final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape: 'refer', target: referTo, from: 'agent1001', to: 'agent2002', action: 'split' });
  assert.equal(r.final.stopped, undefined);

  const agent = segmentsOf(gw, r.summary.callId, 'agent');
  const caller = segmentsOf(gw, r.summary.callId, 'caller');
  assert.deepEqual(agent.map((s) => [s.info.segment, s.info.operator]), [[1, 'agent1001'], [2, 'agent2002']]);
  assert.deepEqual(caller.map((s) => [s.info.segment, s.info.operator]), [[1, 'agent1001'], [2, 'agent2002']]);
  assert.deepEqual(
    r.final.segments.map((s) => [s.leg, s.segment, s.operator]),
    [
      ['caller', 1, 'agent1001'],
      ['caller', 2, 'agent2002'],
      ['agent', 1, 'agent1001'],
      ['agent', 2, 'agent2002'],
    ],
  );
  const [first, second] = agent.map((s) => s.audio());
  assert.ok(first && second);
  assertHoldsBeginningOf(first, speech.audio);
  assert.equal(packetsIn(first, noise.packets), 0, 'the first agent segment holds nothing of the new agent');
  assert.equal(packetsIn(second, speech.packets), 0, 'the second agent segment holds nothing of the first agent');
  assert.ok(packetsIn(second, noise.packets) >= 25, `the new agent is in the second agent segment (${packetsIn(second, noise.packets)} packets)`);
  // Segments are contiguous on the call's clock.
  const [c1, c2] = caller;
  assert.ok(c1 && c2);
  assert.ok(Math.abs(c2.info.startedAt.getTime() - c1.info.startedAt.getTime() - c1.length / 8) < 1, 'the second segment starts where the first ends');
});

test('attended REFER (Refer-To with ?Replaces=): the target is called with that Replaces header, shape refer-replaces', async (t) => {
  const gw = await startTestGateway({ lines: helpline('split') });
  t.after(() => gw.stop());
  const target = await startTarget(t);
  // The consultation call between the two agents, as the first agent names it.
  const replaces = `consult-7@${TARGET_IP};to-tag=t-agent2;from-tag=f-agent1`;
  const uri = `sip:agent2002@${TARGET_IP}:${target.port}`;
  const r = await run(t, gw, { agentScenario: 'agent-refer.xml', referTo: `${uri}?Replaces=${encodeURIComponent(replaces)}`, target });
  const invite = tracedMessages(r.target?.messages ?? '', /^INVITE /)[0];
  assert.ok(invite, 'the target was called');
  assert.equal(/^Replaces:\s*(.*?)\s*$/im.exec(invite)?.[1], replaces);
  assert.equal(/^Referred-By:\s*(.*?)\s*$/im.exec(invite)?.[1], '<sip:agent1001@127.0.0.1>', 'who transferred is passed on');
  assert.deepEqual(notifies(r.agent).map((x) => x.body), ['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
  const transfer = r.final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape: 'refer-replaces', target: uri, from: 'agent1001', to: 'agent2002', action: 'split' });
  assert.deepEqual(segmentsOf(gw, r.summary.callId, 'agent').map((s) => s.info.operator), ['agent1001', 'agent2002']);
});

/**
 * The PBX handed the call to agent2002 on its own and said so in an offer
 * from the agent side asserting the new identity: the line's policy (split
 * here) applies, with the request's method as the transfer's shape.
 */
async function assertAssertedIdentityTransfer(t: TestContext, shape: 'reinvite' | 'update', agentScenario: string): Promise<void> {
  const gw = await startTestGateway({ lines: helpline('split') });
  t.after(() => gw.stop());
  const r = await run(t, gw, { agentScenario });
  assert.equal(r.summary.reason, 'caller-bye');
  // The offer itself reached the caller, as any offer from the agent does: as a re-INVITE, whatever it came as.
  assert.equal(tracedMessages(r.caller.messages, /^INVITE /).length, 1);
  const method = shape === 'update' ? 'UPDATE' : 'INVITE';
  const answers = tracedMessages(r.agent.messages, /^SIP\/2\.0 200/).filter((m) => new RegExp(`^CSeq:\\s*101 ${method}\\s*$`, 'im').test(m));
  assert.equal(answers.length, 1, 'the agent side got its answer');
  assert.match(bodyOf(answers[0] ?? ''), /^m=audio \d+ RTP\/AVP/m, 'an SDP answer');
  assert.equal(r.final.transfers?.length, 1);
  const transfer = r.final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape, target: 'agent2002', from: 'agent1001', to: 'agent2002', action: 'split' });
  assert.equal(r.final.operator, 'agent2002');
  assert.deepEqual(r.final.pausedWindows, [], 'a transfer inside the PBX cuts nothing');
  const agent = segmentsOf(gw, r.summary.callId, 'agent');
  assert.deepEqual(agent.map((s) => [s.info.segment, s.info.operator]), [[1, 'agent1001'], [2, 'agent2002']]);
  assert.deepEqual(segmentsOf(gw, r.summary.callId, 'caller').map((s) => [s.info.segment, s.info.operator]), [[1, 'agent1001'], [2, 'agent2002']]);
  // Same media before and after: the speech runs whole across the two segments, split where the identity changed.
  const [first, second] = agent.map((s) => s.audio());
  assert.ok(first && second);
  assertHoldsExactly(Buffer.concat([first, second]), speech.audio, PCMA_SILENCE);
  assert.ok(packetsIn(first, speech.packets) > 0 && packetsIn(second, speech.packets) > 0, 'speech on both sides of the split');
}

test('a re-INVITE from the agent side asserting another agent is a transfer (shape reinvite): split opens a segment naming the new agent', async (t) => {
  await assertAssertedIdentityTransfer(t, 'reinvite', 'agent-pai-reinvite.xml');
});

test('an UPDATE from the agent side asserting another agent is a transfer (shape update): split opens a segment naming the new agent', async (t) => {
  await assertAssertedIdentityTransfer(t, 'update', 'agent-pai-update.xml');
});

/**
 * Asserts that capture stopped at a forced-stop transfer: one segment per
 * leg, the first agent's speech and the caller's noise up to the transfer,
 * nothing the new leg sent nor anything the caller said to it.
 */
function assertNothingOfNewLeg(gw: TestGateway, r: TransferRun, newLeg: string): void {
  const agent = segmentsOf(gw, r.summary.callId, 'agent');
  const caller = segmentsOf(gw, r.summary.callId, 'caller');
  assert.equal(agent.length + caller.length, 2, `no segment for the ${newLeg}`);
  const [agentSeg] = agent;
  const [callerSeg] = caller;
  assert.ok(agentSeg && callerSeg);
  assert.equal(packetsIn(agentSeg.audio(), noise.packets), 0, `nothing the ${newLeg} sent`);
  assertHoldsBeginningOf(agentSeg.audio(), speech.audio);
  const callerHeard = assertHoldsBeginningOf(callerSeg.audio(), noise.audio);
  assert.ok(callerHeard < noise.audio.length - 4 * 8000, `nothing the caller said to the ${newLeg} (${callerHeard} samples kept)`);
}

test('REFER to a payment target pauses capture whatever the line says (split here) for as long as the call is there: nothing of the payment leg is kept', async (t) => {
  const { gw, r, referTo } = await referredCall(t, helpline('split', { paymentTargets: ['5999'] }), '5999');
  const transfer = r.final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape: 'refer', target: referTo, from: 'agent1001', to: 'agent2002', action: 'pause', reason: 'payment-target' });
  // One window, from the REFER (less the lookback) to the end of the call, which ended at the payment leg.
  const windows = r.final.pausedWindows;
  assert.equal(windows.length, 1, JSON.stringify(windows));
  assert.equal(windows[0]?.trigger, 'transfer');
  assert.ok(windows[0]?.end !== undefined && r.final.endedAt !== undefined && Date.parse(windows[0].end) <= Date.parse(r.final.endedAt));
  assert.ok(Date.parse(windows[0]?.start ?? '') < Date.parse(transfer?.at ?? ''), 'the window opened before the transfer completed');
  assertNothingOfNewLeg(gw, r, 'payment IVR');
});

test('REFER to an unrecorded extension stops capture whatever the line says (split here): nothing of the new leg is kept', async (t) => {
  const { gw, r, referTo } = await referredCall(t, helpline('split', { unrecordedExtensions: ['7001'] }), '7001');
  // The transfer itself goes through: the caller reaches the confidential line, only unrecorded.
  assert.deepEqual(notifies(r.agent).map((x) => x.body), ['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
  const transfer = r.final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape: 'refer', target: referTo, from: 'agent1001', to: 'agent2002', action: 'stop', reason: 'unrecorded-extension' });
  assert.equal(r.final.stopped?.trigger, 'unrecorded-extension');
  assertNothingOfNewLeg(gw, r, 'unrecorded extension');
});

test('a REFER whose target is busy: NOTIFY carries the 486, the call stays with the agent and capture resumes', async (t) => {
  const gw = await startTestGateway({ lines: helpline('split') });
  t.after(() => gw.stop());
  const target = await startTarget(t, 'agent-busy.xml');
  const r = await run(t, gw, { agentScenario: 'agent-refer.xml', referTo: `sip:agent2002@${TARGET_IP}:${target.port}`, target, caller: { scenario: 'caller.xml', pauseMs: 8000 } });
  assert.equal(r.summary.reason, 'caller-bye');
  assert.deepEqual(notifies(r.agent).map((x) => x.body), ['SIP/2.0 100 Trying', 'SIP/2.0 486 Busy Here']);
  assert.match(notifies(r.agent)[1]?.state ?? '', /^terminated/);
  assert.equal(r.final.transfers, undefined, 'no transfer happened');
  assert.equal(r.final.operator, 'agent1001');
  assert.deepEqual(r.final.pausedWindows.map((w) => [w.trigger, w.end !== undefined]), [['transfer', true]], 'the pause of the attempt is closed');
  const [agentSeg, ...more] = segmentsOf(gw, r.summary.callId, 'agent');
  assert.ok(agentSeg);
  assert.equal(more.length, 0);
  // The speech before the REFER and after the failed attempt are both kept, in place; the attempt itself is silence.
  const gap = assertHoldsAllButOneGap(agentSeg.audio(), speech.audio);
  assert.ok(speech.audio.subarray(gap.end).some((b) => b !== PCMA_SILENCE), `speech after the attempt is kept (gap ${gap.start}-${gap.end} of ${speech.audio.length})`);
});

test('an INVITE with Replaces from the agent side naming our agent dialog takes it over (shape invite-replaces); the old agent gets BYE', async (t) => {
  const gw = await startTestGateway({ lines: helpline('split') });
  t.after(() => gw.stop());
  const started = await startCall(t, gw, {
    agent: { scenario: 'agent.xml', traceMessages: true },
    caller: { scenario: callerScenario(t, noise), pauseMs: 4000, traceMessages: true },
  });
  const call = await started.call;
  await eventually('the first agent talks', () => (call.agentLeg?.counters.accepted ?? 0) > 60, 15_000);
  const d = call.agentDialog;
  assert.ok(d);
  // As the gateway, the recipient, sees the dialog: to-tag its own, from-tag the agent's.
  const replaces = `${d.callId};to-tag=${d.local.tag};from-tag=${d.remote.tag}`;
  // From the agent queue's address (the line's target host), media from another one.
  const newAgent = new Sipp({
    scenario: 'agent2-replaces.xml',
    localPort: await freePort(),
    mediaIp: TARGET_IP,
    mediaPort: await sippMediaPort(),
    remote: `127.0.0.1:${gw.sipPort}`,
    service: '1000',
    extraArgs: ['-rtp_echo', '-key', 'replaces', replaces],
  });
  t.after(() => newAgent.kill());
  await eventually('the new agent sends RTP', () => call.agentLeg?.latchedTo?.address === TARGET_IP, 15_000);
  const { agent, summary } = await started.finished;
  assertSippOk('new agent', await newAgent.done, gw.logTail);
  assert.equal(summary.reason, 'caller-bye');
  assert.equal(tracedMessages(agent.messages, /^BYE /).length, 1, 'the replaced agent got BYE');
  const final = gw.writer.manifests.find((m) => m.callId === summary.callId && m.stage === 'final');
  assert.ok(final);
  const transfer = final.transfers?.[0];
  assert.deepEqual({ ...transfer, at: undefined }, { at: undefined, shape: 'invite-replaces', target: 'agent2002', from: 'agent1001', to: 'agent2002', action: 'split' });
  const [first, second] = segmentsOf(gw, summary.callId, 'agent');
  assert.ok(first && second);
  assert.deepEqual([first.info.operator, second.info.operator], ['agent1001', 'agent2002']);
  const counters = JSON.stringify({ ...call.agentLeg?.counters, capture: call.recordings.get('agent')?.capture.counters });
  assert.equal(packetsIn(first.audio(), noise.packets), 0, `nothing of the new agent in the old segment (${whereIn(first.audio(), noise.packets)}; ${counters})`);
  assert.equal(packetsIn(second.audio(), speech.packets), 0, `nothing of the old agent in the new segment (${whereIn(second.audio(), speech.packets)}; ${counters})`);
  assert.ok(packetsIn(second.audio(), noise.packets) >= 25, 'the new agent is in the new segment');
});

test('inside the PBX to the payment desk and on to another agent: paused while at the desk, resumed and split when the call leaves it', async (t) => {
  const gw = await startTestGateway({ lines: helpline('split', { paymentTargets: ['5999'] }) });
  t.after(() => gw.stop());
  const r = await run(t, gw, { agentScenario: 'agent-pai-payment.xml', caller: { scenario: callerScenario(t, noise, 'caller-transfer-twice.xml'), pauseMs: 9000 } });
  assert.equal(r.summary.reason, 'caller-bye');
  const transfers = r.final.transfers ?? [];
  assert.deepEqual(
    transfers.map((x) => [x.shape, x.to, x.action, x.reason]),
    [
      ['reinvite', '5999', 'pause', 'payment-target'],
      ['reinvite', 'agent2002', 'split', 'payment-ended'],
    ],
  );
  const windows = r.final.pausedWindows.filter((w) => w.trigger === 'payment-target');
  assert.equal(windows.length, 1, JSON.stringify(r.final.pausedWindows));
  const [w] = windows;
  assert.ok(w?.end !== undefined, 'the window closed when the call left the desk');
  const ms = Date.parse(w.end) - Date.parse(w.start);
  // The 2.5 s at the desk, plus the lookback cut before it.
  assert.ok(ms >= 2500 && ms <= 5000, `window of ${ms} ms`);
  assert.equal(Date.parse(w.end) <= Date.parse(transfers[1]?.at ?? ''), true);
  // Segments: the first agent until the split, the new agent after; the desk's time is silence in both legs.
  const agent = segmentsOf(gw, r.summary.callId, 'agent');
  assert.deepEqual(agent.map((s) => [s.info.segment, s.info.operator]), [[1, 'agent1001'], [2, 'agent2002']]);
  const caller = segmentsOf(gw, r.summary.callId, 'caller');
  const [before, after] = caller.map((s) => s.audio());
  assert.ok(before && after);
  assert.ok(packetsIn(before, noise.packets) > 0, 'the caller before the desk is kept');
  assert.ok(packetsIn(after, noise.packets) > 0, 'the caller after the desk is kept');
  // What the caller said while at the desk (the window) is in neither segment.
  const segStart = Date.parse(r.final.segments.find((s) => s.leg === 'caller' && s.segment === 1)?.startedAt ?? '');
  const whole = Buffer.concat([before, after]);
  const a = Math.ceil((Date.parse(w.start) - segStart) * 8) + 16;
  const b = Math.floor((Date.parse(w.end) - segStart) * 8) - 16;
  assert.ok(b > a);
  assert.ok(whole.subarray(a, b).every((x) => x === PCMA_SILENCE), 'silence over the window');
});
