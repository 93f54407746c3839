/**
 * Payment: no card digit is ever stored. SIPp callers send digits as RFC 4733
 * events (the sip-tester pcaps), as in-band tones and as SIP INFO; the agent
 * pauses and resumes with its key sequence. The stored recordings hold no
 * tone energy (Goertzel over the decoded export), no telephone-event payload,
 * speech before and after intact and aligned, and the manifest lists every
 * paused window with its trigger.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportCall } from '../../src/access/export.js';
import { loadDecryptionKey } from '../../src/crypto/keys.js';
import { encodeG711, PCMA_SILENCE } from '../../src/media/g711.js';
import { InbandDtmfDetector } from '../../src/media/inband-dtmf.js';
import type { Manifest } from '../../src/recording/manifest.js';
import { FsStore } from '../../src/storage/fs.js';
import { assertHoldsExactly, pcapAudio, startCall } from '../helpers/calls.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { buildMedia, scenarioPlaying, type BuiltMedia } from '../helpers/media.js';

/** The digits a G.711 A-law signal holds, by the gateway's own detector. */
function digitsIn(alaw: Buffer): string {
  let digits = '';
  const d = new InbandDtmfDetector('PCMA', { onToneStart: (digit) => (digits += digit), onToneEnd: () => undefined });
  d.push(alaw, 0, alaw.length, 0);
  d.flush(alaw.length);
  return digits;
}

/** A WAV file's 16-bit samples, read back and encoded as A-law for the detector. */
function wavAsAlaw(file: string): Buffer {
  const wav = readFileSync(file);
  const data = wav.indexOf('data');
  assert.ok(data > 0, `${file} has a data chunk`);
  return encodeG711(wav.subarray(data + 8), 'PCMA');
}

function paymentLine(agentPort: number, announcement: string, extra: Record<string, unknown> = {}): unknown[] {
  return [
    {
      number: '1000',
      name: 'payments',
      target: `sip:queue@127.0.0.1:${agentPort}`,
      record: 'always',
      announcement: { file: announcement, mode: 'early' },
      dtmfQuietMs: 1000,
      ...extra,
    },
  ];
}

interface Recorded {
  readonly manifest: Manifest;
  readonly caller: Buffer;
  readonly agent: Buffer;
  readonly callerWav: string;
}

/** Waits for the uploads, then exports the call the way an operator would. */
async function exported(gw: TestGateway, callId: string): Promise<Recorded> {
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  assert.equal(await pipeline.uploader.drain(20_000), true);
  const out = mkdtempSync(join(tmpdir(), 'recgw-export-'));
  const store = new FsStore({ dir: gw.storeDir });
  const kdk = loadDecryptionKey(gw.privateKeyFile);
  const call = await exportCall(store, callId, kdk, out);
  assert.ok(call.manifest, 'the call has a manifest');
  const leg = (name: string): string => {
    const l = call.legs.find((x) => x.leg === name);
    assert.ok(l, `${name} leg exported`);
    return l.file;
  };
  return { manifest: call.manifest, caller: wavAsAlaw(leg('caller')), agent: wavAsAlaw(leg('agent')), callerWav: leg('caller') };
}

/** Stored plaintext of a leg straight from the store (no WAV round trip), for byte comparisons. */
function storedLeg(gw: TestGateway, manifest: Manifest, leg: 'caller' | 'agent'): Buffer {
  const seg = manifest.segments.find((s) => s.leg === leg);
  assert.ok(seg);
  return readFileSync(join(gw.storeDir, seg.key));
}

test('RFC 4733 card digits from the caller: cut with their quiet time, no event payload stored, speech intact', async (t) => {
  const gw = await startTestGateway({ pipeline: true, lines: (agentPort, announcement) => paymentLine(agentPort, announcement) });
  t.after(() => gw.stop());
  const dir = mkdtempSync(join(tmpdir(), 'recgw-payment-'));
  const media: BuiltMedia = buildMedia([{ kind: 'speech' }, { kind: 'silence', ms: 400 }, { kind: 'events', keys: '4111', gapMs: 100 }, { kind: 'silence', ms: 1600 }, { kind: 'speech' }], dir);
  const { finished } = await startCall(t, gw, {
    agent: { scenario: 'agent.xml' },
    caller: { scenario: scenarioPlaying('caller.xml', media.pcap, dir), pauseMs: media.durationMs + 1000 },
  });
  const { summary } = await finished;
  const rec = await exported(gw, summary.callId);

  const windows = rec.manifest.pausedWindows;
  assert.deepEqual(windows.map((w) => [w.trigger, w.by]), [['dtmf-rfc4733', 'caller']], 'one window for the run of digits');
  const speech = pcapAudio().audio;
  assertHoldsExactly(rec.caller, speech, PCMA_SILENCE, 2);
  assert.equal(digitsIn(rec.caller), '', 'no tone in the exported caller audio');
  assertHoldsExactly(rec.agent, speech, PCMA_SILENCE, 1);
  // The events' own bytes are nowhere in what was stored, in the clear or sealed.
  for (const p of media.eventPayloads) assert.equal(rec.caller.indexOf(p), -1, `event payload ${p.toString('hex')} not in the recording`);
  const sealed = storedLeg(gw, rec.manifest, 'caller');
  for (const p of media.eventPayloads) assert.equal(sealed.indexOf(p), -1, 'nor in the sealed object');
});

test('in-band card digits (G.711 tones) from the caller: no tone energy in the export, window in the manifest, both legs aligned', async (t) => {
  const gw = await startTestGateway({ pipeline: true, lines: (agentPort, announcement) => paymentLine(agentPort, announcement) });
  t.after(() => gw.stop());
  const dir = mkdtempSync(join(tmpdir(), 'recgw-payment-'));
  const media = buildMedia(
    [{ kind: 'speech' }, { kind: 'silence', ms: 400 }, { kind: 'tones', digits: '4111111111111111', onMs: 60, offMs: 60 }, { kind: 'silence', ms: 1600 }, { kind: 'speech' }],
    dir,
  );
  assert.equal(digitsIn(media.audio), '4111111111111111', 'the detector hears the card number in what SIPp sends');
  const { finished } = await startCall(t, gw, {
    agent: { scenario: 'agent.xml' },
    caller: { scenario: scenarioPlaying('caller.xml', media.pcap, dir), pauseMs: media.durationMs + 1000 },
  });
  const { summary } = await finished;
  const rec = await exported(gw, summary.callId);

  assert.equal(digitsIn(rec.caller), '', 'no digit in the exported caller audio');
  assert.equal(digitsIn(rec.agent), '', 'nor in the agent audio');
  const windows = rec.manifest.pausedWindows;
  assert.deepEqual(windows.map((w) => [w.trigger, w.by]), [['dtmf-inband', 'caller']]);
  const speech = pcapAudio().audio;
  // Speech before and after the digits, byte for byte, and nothing else but silence.
  assertHoldsExactly(rec.caller, speech, PCMA_SILENCE, 2);
  // Aligned: the second speech sits exactly where it was sent relative to the first.
  const first = rec.caller.indexOf(speech);
  const second = rec.caller.indexOf(speech, first + speech.length);
  assert.equal(second - first, (media.offsets[4] ?? 0) - (media.offsets[0] ?? 0));
});

test('a digit sent as SIP INFO is relayed to the agent and cut from the recording, speech before and after intact', async (t) => {
  const gw = await startTestGateway({ pipeline: true, lines: (agentPort, announcement) => paymentLine(agentPort, announcement) });
  t.after(() => gw.stop());
  const dir = mkdtempSync(join(tmpdir(), 'recgw-payment-'));
  // Speech, 4 s of silence in which the INFO comes, speech again.
  const media = buildMedia([{ kind: 'speech' }, { kind: 'silence', ms: 4000 }, { kind: 'speech' }], dir);
  const speechMs = pcapAudio().audio.length / 8;
  const infoAtMs = speechMs + 2000;
  const { finished } = await startCall(t, gw, {
    // agent-info.xml fails unless the INFO reaches it with its Signal.
    agent: { scenario: 'agent-info.xml' },
    caller: { scenario: scenarioPlaying('caller-info.xml', media.pcap, dir), pauseMs: infoAtMs },
  });
  const { summary } = await finished;
  const rec = await exported(gw, summary.callId);
  assert.deepEqual(rec.manifest.pausedWindows.map((w) => [w.trigger, w.by]), [['dtmf-info', 'caller']]);
  assertHoldsExactly(rec.caller, pcapAudio().audio, PCMA_SILENCE, 2);
});

test("the agent's pause and resume keys cut what the caller says in between, on both legs, and the manifest says who", async (t) => {
  const gw = await startTestGateway({
    pipeline: true,
    lines: (agentPort, announcement) => paymentLine(agentPort, announcement, { pauseKeys: '*7', resumeKeys: '*8' }),
  });
  t.after(() => gw.stop());
  const dir = mkdtempSync(join(tmpdir(), 'recgw-payment-'));
  // The caller talks throughout (two speech runs back to back: about 14 s).
  const callerMedia = buildMedia([{ kind: 'speech' }, { kind: 'speech' }], dir);
  // The agent: quiet, *7 at about 2 s, quiet, *8 at about 6 s.
  const agentMedia = buildMedia(
    [{ kind: 'silence', ms: 2000 }, { kind: 'events', keys: '*7', gapMs: 100 }, { kind: 'silence', ms: 3400 }, { kind: 'events', keys: '*8', gapMs: 100 }, { kind: 'silence', ms: 2000 }],
    dir,
  );
  const { finished } = await startCall(t, gw, {
    agent: { scenario: scenarioPlaying('agent.xml', agentMedia.pcap, dir) },
    caller: { scenario: scenarioPlaying('caller.xml', callerMedia.pcap, dir), pauseMs: callerMedia.durationMs + 1000 },
  });
  const { summary } = await finished;
  const rec = await exported(gw, summary.callId);

  const manual = rec.manifest.pausedWindows.filter((w) => w.trigger === 'agent-keys');
  assert.equal(manual.length, 1, JSON.stringify(rec.manifest.pausedWindows));
  assert.equal(manual[0]?.by, 'agent1001');
  assert.ok(manual[0]?.end !== undefined, 'the window was closed by the resume keys');
  assert.ok(rec.manifest.pausedWindows.some((w) => w.trigger === 'dtmf-rfc4733' && w.by === 'agent'), 'the keys themselves are cut too');

  // Where the caller's speech sits in the stored leg, then: silence over each window, the speech elsewhere.
  const segStart = Date.parse(rec.manifest.segments.find((s) => s.leg === 'caller')?.startedAt ?? '');
  const sent = callerMedia.audio;
  const stored = rec.caller;
  const probe = sent.findIndex((b) => b !== PCMA_SILENCE);
  const at = stored.indexOf(sent.subarray(probe, probe + 800)) - probe;
  assert.ok(at >= 0, 'the start of the speech is stored intact');
  const cut = rec.manifest.pausedWindows.map((w) => [
    Math.max(0, Math.round((Date.parse(w.start) - segStart) * 8)),
    Math.min(stored.length, Math.round((Date.parse(w.end ?? rec.manifest.endedAt ?? '') - segStart) * 8)),
  ]);
  let kept = 0;
  let silenced = 0;
  for (let i = 0; i < sent.length && at + i < stored.length; i++) {
    const p = at + i;
    // The manifest's times are whole milliseconds: leave two of them either side of each edge.
    const edge = cut.some(([a, b]) => Math.abs(p - (a ?? 0)) < 16 || Math.abs(p - (b ?? 0)) < 16);
    const inside = cut.some(([a, b]) => p >= (a ?? 0) && p < (b ?? 0));
    if (edge) continue;
    if (inside) {
      assert.equal(stored[p], PCMA_SILENCE, `sample ${p} inside a window is silence`);
      silenced++;
    } else if (stored[p] === sent[i]) kept++;
  }
  // Window edges are only as exact as a millisecond in the manifest: allow a few samples either way.
  const outside = sent.length - silenced - 32 * cut.length;
  assert.ok(kept >= outside - 160, `speech outside the windows is intact: ${kept} of ${outside} samples`);
  assert.ok(silenced >= 3 * 8000, `the pause covered the seconds between the keys (${silenced} samples)`);
  assert.equal(digitsIn(stored), '');
});
