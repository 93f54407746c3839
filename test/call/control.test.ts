/**
 * The control API end to end: a real gateway, SIPp as trunk and agent queue,
 * real HTTP. Pause, resume, stop and opt-out act on the live call's capture
 * and show in the manifest, the stored audio and the audit log; a wrong token
 * changes nothing; a caller's key during the announcement opts out too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyAuditLog, type AuditRecord } from '../../src/access/audit.js';
import { openManifest } from '../../src/access/export.js';
import type { Call } from '../../src/call/call.js';
import { SIPP_PCAP_DIR, scenarioPath } from '../../src/cli/sipp.js';
import type { ActiveCallView } from '../../src/control/types.js';
import { loadDecryptionKey } from '../../src/crypto/keys.js';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import type { Manifest, PausedWindow } from '../../src/recording/manifest.js';
import { FsStore } from '../../src/storage/fs.js';
import { capturedAudio, pcapAudio, startCall, type StartedCall } from '../helpers/calls.js';
import { controlApi, startTestGateway, TEST_CONTROL_TOKEN, type ApiReply, type TestGateway } from '../helpers/gateway.js';

async function viewOf(gw: TestGateway, callId: string): Promise<ActiveCallView> {
  const list = await controlApi(gw, 'GET', '/calls');
  assert.equal(list.status, 200);
  const calls = list.body['calls'] as ActiveCallView[];
  const view = calls.find((c) => c.callId === callId);
  assert.ok(view, `GET /calls lists call ${callId}`);
  const one = await controlApi(gw, 'GET', `/calls/${encodeURIComponent(callId)}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body['call'], view, 'GET /calls/:id shows the same call');
  return view;
}

async function action(gw: TestGateway, callId: string, name: string, body?: unknown): Promise<ApiReply> {
  return controlApi(gw, 'POST', `/calls/${encodeURIComponent(callId)}/${name}`, body === undefined ? {} : { body });
}

/** The call once its agent answered (capture, if any, is running by then). */
async function answered(started: StartedCall): Promise<Call> {
  // Handled here so that a test failing before it awaits the end reports that failure, not SIPp's.
  started.finished.catch(() => undefined);
  const call = await started.call;
  if (!call.answeredAt) await new Promise<void>((resolve) => call.once('answered', resolve));
  return call;
}

async function auditRecords(file: string): Promise<AuditRecord[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

function finalManifest(gw: TestGateway, callId: string): Manifest {
  const m = gw.writer.manifests.find((x) => x.callId === callId && x.stage === 'final');
  assert.ok(m, 'the final manifest was written');
  return m;
}

const SAMPLES_PER_MS = 8;

/**
 * Asserts that `audio` (one leg, from the segment's start) is the pcap's audio
 * where no window is, and silence over every window; and that the windows
 * cut real speech, not silence the pcap had anyway. A window's ISO time is
 * exact to the millisecond, so a millisecond either side of each edge is not judged.
 */
function assertGated(audio: Buffer, pcap: Buffer, windows: readonly PausedWindow[], segmentStart: string, leg: string, expectCut = windows.length > 0): void {
  const t0 = Date.parse(segmentStart);
  const spans = windows.map((w): [number, number] => [
    (Date.parse(w.start) - t0) * SAMPLES_PER_MS,
    w.end === undefined ? Infinity : (Date.parse(w.end) - t0) * SAMPLES_PER_MS,
  ]);
  // Both ends of a span come from millisecond-truncated times: up to two milliseconds either way.
  const edge = 2 * SAMPLES_PER_MS;
  const inside = (i: number): boolean => spans.some(([a, b]) => i >= a + edge && i < b);
  const near = (i: number): boolean => spans.some(([a, b]) => i >= a - edge && i < b + edge);

  // Where the pcap starts in the capture: the first stretch of speech found there byte for byte.
  let pcapStart: number | undefined;
  for (let p = 0; p + 400 <= pcap.length && pcapStart === undefined; p += 400) {
    const probe = pcap.subarray(p, p + 400);
    if (probe.filter((b) => b !== PCMA_SILENCE).length < 300) continue;
    const at = audio.indexOf(probe);
    if (at >= 0) pcapStart = at - p;
  }
  assert.ok(pcapStart !== undefined && pcapStart >= 0, `${leg}: the pcap's speech is in the capture`);

  let cutSpeech = 0;
  let wrong = 0;
  let firstWrong = -1;
  for (let i = 0; i < audio.length; i++) {
    const k = i - pcapStart;
    const sent = k >= 0 && k < pcap.length ? (pcap[k] ?? PCMA_SILENCE) : PCMA_SILENCE;
    const got = audio[i];
    let ok = true;
    if (inside(i)) {
      ok = got === PCMA_SILENCE;
      if (sent !== PCMA_SILENCE) cutSpeech++;
    } else if (!near(i)) {
      ok = got === sent;
    }
    if (!ok) {
      wrong++;
      if (firstWrong < 0) firstWrong = i;
    }
  }
  assert.equal(wrong, 0, `${leg}: ${wrong} samples differ from what was sent (first at sample ${firstWrong}, pcap from ${pcapStart})`);
  if (expectCut) assert.ok(cutSpeech > 4000, `${leg}: the windows cut speech (${cutSpeech} samples)`);
}

const agentAndCaller = { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 8000 } } as const;

test('pause and resume over the API: listed live, recorded in the manifest, silence on both legs over the window only', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const pcap = pcapAudio();
  const started = await startCall(t, gw, agentAndCaller);
  const call = await answered(started);

  assert.equal((await viewOf(gw, call.id)).capture, 'recording');
  await sleep(2500);
  const paused = await action(gw, call.id, 'pause', { by: 'supervisor-7', reason: 'card details' });
  assert.equal(paused.status, 200);
  const pausedView = paused.body['call'] as ActiveCallView;
  assert.equal(pausedView.capture, 'paused');
  assert.deepEqual(
    pausedView.pausedWindows.filter((w) => w.trigger === 'api').map((w) => [w.by, w.end]),
    [['supervisor-7', undefined]],
    'an open window, attributed',
  );
  assert.equal((await viewOf(gw, call.id)).capture, 'paused');
  const again = await action(gw, call.id, 'pause', { by: 'supervisor-7' });
  assert.equal(again.status, 409);
  assert.equal((again.body['error'] as { code: string }).code, 'already-paused');

  await sleep(1500);
  const resumed = await action(gw, call.id, 'resume', { by: 'supervisor-7' });
  assert.equal(resumed.status, 200);
  assert.equal((resumed.body['call'] as ActiveCallView).capture, 'recording');
  assert.equal((await viewOf(gw, call.id)).capture, 'recording');

  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye');
  const manifest = finalManifest(gw, call.id);
  const apiWindows = manifest.pausedWindows.filter((w) => w.trigger === 'api');
  assert.equal(apiWindows.length, 1, 'one API window in the manifest');
  const [w] = apiWindows;
  assert.ok(w?.end !== undefined && w.by === 'supervisor-7', `closed and attributed: ${JSON.stringify(w)}`);
  assert.ok(Date.parse(w.end) > Date.parse(w.start));
  assert.equal(manifest.stopped, undefined);
  for (const leg of ['caller', 'agent'] as const) {
    const seg = manifest.segments.find((s) => s.leg === leg);
    assert.ok(seg);
    assertGated(capturedAudio(gw.writer, call.id, leg), pcap.audio, manifest.pausedWindows, seg.startedAt, leg);
  }

  const audit = (await auditRecords(gw.auditFile)).filter((r) => r.callId === call.id);
  assert.deepEqual(
    audit.map((r) => [r.action, r.by, r.outcome]),
    [
      ['pause', 'supervisor-7', 'ok'],
      ['pause', 'supervisor-7', 'already-paused'],
      ['resume', 'supervisor-7', 'ok'],
    ],
  );
  assert.equal(audit[0]?.details?.['reason'], 'card details');
  assert.deepEqual(await verifyAuditLog(gw.auditFile), { ok: true, records: 3 });
});

test('stop over the API ends capture at that moment; the call itself goes on to its normal end', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const pcap = pcapAudio();
  const started = await startCall(t, gw, agentAndCaller);
  const call = await answered(started);

  await sleep(3000);
  const stopped = await action(gw, call.id, 'stop', { by: 'team-lead-2' });
  assert.equal(stopped.status, 200);
  assert.equal((stopped.body['call'] as ActiveCallView).capture, 'stopped');
  assert.equal((await viewOf(gw, call.id)).capture, 'stopped');
  assert.equal(call.ended, false, 'the call is still up');
  for (const name of ['pause', 'resume', 'stop']) {
    const r = await action(gw, call.id, name);
    assert.equal(r.status, 409, `${name} after stop`);
    assert.equal((r.body['error'] as { code: string }).code, 'stopped');
  }

  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye', 'the caller hung up as the scenario says, after the stop');
  const manifest = finalManifest(gw, call.id);
  assert.ok(manifest.stopped);
  assert.deepEqual({ trigger: manifest.stopped.trigger, by: manifest.stopped.by }, { trigger: 'api', by: 'team-lead-2' });
  const stopAt = Date.parse(manifest.stopped.at);
  assert.ok(manifest.endedAt !== undefined && Date.parse(manifest.endedAt) > stopAt, 'the call ended after capture stopped');
  for (const leg of ['caller', 'agent'] as const) {
    const seg = manifest.segments.find((s) => s.leg === leg);
    assert.ok(seg?.complete, `${leg}: the segment was closed`);
    const audio = capturedAudio(gw.writer, call.id, leg);
    // What was captured up to the stop is intact, and from the stop on (a packet that arrived
    // ahead of the clock included) there is only silence...
    assertGated(audio, pcap.audio, [...manifest.pausedWindows, { start: manifest.stopped.at, trigger: 'stop', by: 'team-lead-2' }], seg.startedAt, leg, manifest.pausedWindows.length > 0);
    // ...and the file ends there, though SIPp sent seconds more of the pcap.
    const stopSample = (stopAt - Date.parse(seg.startedAt)) * SAMPLES_PER_MS;
    assert.ok(audio.length <= stopSample + 100 * SAMPLES_PER_MS, `${leg}: ${audio.length} samples captured, stop at sample ${stopSample}`);
    assert.equal(audio.indexOf(pcap.audio.subarray(-1600)), -1, `${leg}: the last 200 ms SIPp sent are not in the file`);
  }
  const audit = (await auditRecords(gw.auditFile)).filter((r) => r.callId === call.id);
  assert.deepEqual(audit[0] && [audit[0].action, audit[0].by, audit[0].outcome, audit[0].details?.['capture']], ['stop', 'team-lead-2', 'ok', 'stopped']);
});

test('opt-out with discard: nothing of the call is left in spool or store but its manifests, which say so; audited', async (t) => {
  const gw = await startTestGateway({ pipeline: true });
  t.after(() => gw.stop());
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  const store = new FsStore({ dir: gw.storeDir });
  const keysOf = async (callId: string): Promise<string[]> => {
    const keys: string[] = [];
    for await (const o of store.list('')) if (o.key.includes(`/${callId}/`)) keys.push(o.key.replace(/^.*\//, ''));
    return keys.sort();
  };
  const started = await startCall(t, gw, agentAndCaller);
  const call = await answered(started);
  assert.equal(gw.config.lines[0]?.optOut.discard, true, 'discard is the default');

  // Long enough for the legs' tails to be streaming into the store.
  await sleep(2500);
  assert.equal((await viewOf(gw, call.id)).capture, 'recording');
  const out = await action(gw, call.id, 'opt-out', { by: 'compliance-1', reason: 'caller asked' });
  assert.equal(out.status, 200);
  assert.equal((out.body['call'] as ActiveCallView).capture, 'stopped');
  assert.equal(out.body['discarded'], 2, 'both legs discarded');
  // By the time the answer is out, no audio of the call is in the store or the spool.
  assert.deepEqual((await keysOf(call.id)).filter((k) => !k.startsWith('manifest')), []);
  assert.deepEqual(pipeline.spool.entries().filter((e) => e.meta.callId === call.id && e.meta.kind === 'audio'), []);
  const twice = await action(gw, call.id, 'opt-out', { by: 'compliance-1' });
  assert.equal(twice.status, 409);
  assert.equal((twice.body['error'] as { code: string }).code, 'stopped');

  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye', 'the call carried on after the opt-out');
  assert.equal(await pipeline.uploader.drain(20_000), true, 'the spool empties');
  assert.deepEqual(pipeline.spool.entries(), []);
  assert.deepEqual(await keysOf(call.id), ['manifest-start.rec', 'manifest.rec'], 'only the manifests are kept');

  const kdk = loadDecryptionKey(gw.privateKeyFile);
  const manifestKey = (await (async () => {
    for await (const o of store.list('')) if (o.key.endsWith(`/${call.id}/manifest.rec`)) return o.key;
    return undefined;
  })()) ?? assert.fail('final manifest stored');
  const manifest = openManifest(readFileSync(join(gw.storeDir, manifestKey)), kdk);
  assert.ok(manifest.optOut);
  assert.deepEqual({ by: manifest.optOut.by, discarded: manifest.optOut.discarded }, { by: 'compliance-1', discarded: true });
  assert.deepEqual({ trigger: manifest.stopped?.trigger, by: manifest.stopped?.by }, { trigger: 'opt-out', by: 'compliance-1' });
  assert.deepEqual(manifest.segments.map((s) => [s.leg, s.discarded]).sort(), [['agent', true], ['caller', true]]);

  const audit = (await auditRecords(gw.auditFile)).filter((r) => r.callId === call.id);
  const record = audit.find((r) => r.action === 'opt-out' && r.outcome === 'ok');
  assert.ok(record, 'the opt-out is in the audit log');
  assert.equal(record.by, 'compliance-1');
  assert.deepEqual([record.details?.['discarded'], record.details?.['reason']], [2, 'caller asked']);
  assert.equal((await verifyAuditLog(gw.auditFile)).ok, true);
});

test('opt-out after capture was stopped still discards what was captured before the stop', async (t) => {
  const gw = await startTestGateway({ pipeline: true });
  t.after(() => gw.stop());
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 5000 } });
  const call = await answered(started);
  await sleep(1500);
  assert.equal((await action(gw, call.id, 'stop', { by: 'team-lead-2' })).status, 200);
  const out = await action(gw, call.id, 'opt-out', { by: 'compliance-1' });
  assert.equal(out.status, 200);
  assert.equal(out.body['discarded'], 2);

  await started.finished;
  assert.equal(await pipeline.uploader.drain(20_000), true);
  const store = new FsStore({ dir: gw.storeDir });
  const kept: string[] = [];
  for await (const o of store.list('')) if (o.key.includes(`/${call.id}/`)) kept.push(o.key);
  assert.deepEqual(kept.map((k) => k.replace(/^.*\//, '')).sort(), ['manifest-start.rec', 'manifest.rec']);
  const manifestKey = kept.find((k) => k.endsWith('/manifest.rec')) ?? assert.fail('final manifest stored');
  const manifest = openManifest(readFileSync(join(gw.storeDir, manifestKey)), loadDecryptionKey(gw.privateKeyFile));
  assert.deepEqual({ trigger: manifest.stopped?.trigger, by: manifest.stopped?.by }, { trigger: 'api', by: 'team-lead-2' }, 'the stop keeps its own record');
  assert.deepEqual({ by: manifest.optOut?.by, discarded: manifest.optOut?.discarded }, { by: 'compliance-1', discarded: true });
  assert.ok(manifest.segments.every((s) => s.discarded === true));
});

test('a wrong or missing token gets a JSON 401 asking for a bearer token, changes nothing, and is audited', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const pcap = pcapAudio();
  const started = await startCall(t, gw, agentAndCaller);
  const call = await answered(started);
  const wrong = `${TEST_CONTROL_TOKEN}-not`;

  for (const [name, token] of [['pause', wrong], ['stop', null], ['opt-out', wrong]] as const) {
    const r = await controlApi(gw, 'POST', `/calls/${call.id}/${name}`, { token, body: { by: 'intruder' } });
    assert.equal(r.status, 401, name);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal((r.body['error'] as { code: string }).code, 'unauthorized');
  }
  const list = await controlApi(gw, 'GET', '/calls', { token: wrong });
  assert.equal(list.status, 401);
  assert.equal(list.body['calls'], undefined, 'nothing is listed');
  const view = await viewOf(gw, call.id);
  assert.equal(view.capture, 'recording');
  assert.deepEqual(view.pausedWindows, []);

  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye');
  const manifest = finalManifest(gw, call.id);
  assert.deepEqual(manifest.pausedWindows.filter((w) => w.trigger === 'api'), []);
  assert.equal(manifest.stopped, undefined);
  assert.equal(manifest.optOut, undefined);
  for (const leg of ['caller', 'agent'] as const) {
    const seg = manifest.segments.find((s) => s.leg === leg);
    assert.ok(seg);
    assertGated(capturedAudio(gw.writer, call.id, leg), pcap.audio, manifest.pausedWindows, seg.startedAt, leg);
  }

  const text = await readFile(gw.auditFile, 'utf8');
  assert.equal(text.includes(wrong), false, 'the token presented is not recorded');
  const audit = await auditRecords(gw.auditFile);
  assert.deepEqual(
    audit.map((r) => [r.action, r.outcome, r.details?.['path']]),
    [
      ['unauthorized', 'unauthorized', `/calls/${call.id}/pause`],
      ['unauthorized', 'unauthorized', `/calls/${call.id}/stop`],
      ['unauthorized', 'unauthorized', `/calls/${call.id}/opt-out`],
      ['unauthorized', 'unauthorized', '/calls'],
    ],
  );
  assert.deepEqual(await verifyAuditLog(gw.auditFile), { ok: true, records: 4 });
});

/** caller-second-message.xml with the opt-out digit instead of the second message's. */
async function optOutCallerScenario(t: TestContext, digit: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-scenario-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const from = `${SIPP_PCAP_DIR}/dtmf_2833_1.pcap`;
  const text = await readFile(scenarioPath('caller-second-message.xml'), 'utf8');
  assert.ok(text.includes(from), 'the scenario plays a digit after 183');
  const file = join(dir, `caller-opt-out-${digit}.xml`);
  await writeFile(file, text.replace(from, `${SIPP_PCAP_DIR}/dtmf_2833_${digit}.pcap`));
  return file;
}

test('the caller pressing the opt-out key during the announcement: the call is carried, nothing is recorded, audited', async (t) => {
  const gw = await startTestGateway({
    announcementMs: 3000,
    lines: (agentPort, announcement) => [
      { number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { file: announcement, mode: 'early' }, optOut: { key: '9' } },
    ],
  });
  t.after(() => gw.stop());
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: await optOutCallerScenario(t, '9'), pauseMs: 2000 } });
  const call = await answered(started);
  assert.equal(call.optedOut?.by, 'caller-key');
  const view = await viewOf(gw, call.id);
  assert.equal(view.capture, 'unrecorded');
  const refused = await action(gw, call.id, 'pause', { by: 'supervisor-7' });
  assert.equal(refused.status, 409);
  assert.equal((refused.body['error'] as { code: string }).code, 'not-recorded');

  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye');
  assert.ok(summary.answeredAt, 'the call was connected to the agent');
  assert.equal(summary.recorded, false);
  assert.deepEqual(gw.writer.segments.filter((s) => s.info.callId === call.id), [], 'no segment was opened');
  assert.deepEqual(gw.writer.manifests.filter((m) => m.callId === call.id), [], 'nothing was captured to describe');

  const audit = (await auditRecords(gw.auditFile)).filter((r) => r.callId === call.id);
  const record = audit.find((r) => r.action === 'opt-out');
  assert.ok(record, 'the opt-out is in the audit log');
  assert.deepEqual([record.by, record.outcome, record.details?.['how']], ['caller-key', 'ok', 'announcement key']);
  assert.equal((await verifyAuditLog(gw.auditFile)).ok, true);
});
