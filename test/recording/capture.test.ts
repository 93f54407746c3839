import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InbandDtmfDetector } from '../../src/media/inband-dtmf.js';
import { linearToAlaw } from '../../src/media/g711.js';
import { LegCapture, type CaptureOptions, type ToneEvents } from '../../src/recording/capture.js';
import { CaptureGate } from '../../src/recording/gate.js';
import { MemorySegmentWriter, type MemorySegment } from '../../src/recording/memory-writer.js';
import { prng } from '../helpers/prng.js';
import type { SegmentSink } from '../../src/recording/writer.js';

const PT = 8; // PCMA
const SILENCE = 0xd5;
const T0 = 10_000;
const SSRC = 0x1234abcd;

/** A distinct 20 ms payload per packet number, never the silence byte, so every sample is traceable. */
function payload(n: number, bytes = 160): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = 1 + ((n * 31 + i) % 200);
  return b;
}

function silence(n: number): Buffer {
  return Buffer.alloc(n, SILENCE);
}

/** An RTP packet as the tap sees it: a 12-byte header, then the payload. */
function rtp(body: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(12, 0x80), body]);
}

interface Rig {
  capture: LegCapture;
  segment: MemorySegment;
  send: (n: number, o: { ts: number; at: number; ssrc?: number; pt?: number; body?: Buffer }) => void;
}

function rig(opts: Partial<CaptureOptions> = {}): Rig {
  const writer = new MemorySegmentWriter();
  const sink = writer.open({ callId: 'c1', leg: 'caller', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt: new Date(0), callStartedAt: new Date(0), line: 'helpline', direction: 'inbound' });
  const capture = new LegCapture({ sink, codec: 'PCMA', payloadType: PT, t0: T0, jitterMs: 200, ...opts });
  const segment = writer.segments[0];
  assert.ok(segment);
  return {
    capture,
    segment,
    send: (n, o) => {
      const body = o.body ?? payload(n);
      capture.onPacket(rtp(body), 12, body.length, o.pt ?? PT, o.ts >>> 0, o.ssrc ?? SSRC, T0 + o.at);
    },
  };
}

/** Flushes the way the shared clock would: every 100 ms from `fromMs` to `toMs` (relative to t0). */
function tick(capture: LegCapture, fromMs: number, toMs: number): void {
  for (let t = fromMs; t <= toMs; t += 100) capture.flush(T0 + t);
}

test('in-order packets come out as silence, then exactly the payloads, then silence', async () => {
  const { capture, segment, send } = rig();
  const ts0 = 0xfffff000; // the timestamp wraps inside the call
  for (let n = 0; n < 10; n++) {
    send(n, { ts: ts0 + n * 160, at: 50 + n * 20 });
    tick(capture, 50 + n * 20, 50 + n * 20);
  }
  await capture.stop(T0 + 600);
  const expected = Buffer.concat([silence(400), ...Array.from({ length: 10 }, (_, n) => payload(n)), silence(600 * 8 - 400 - 1600)]);
  assert.deepEqual(segment.audio(), expected);
  assert.ok(segment.closed);
  assert.deepEqual({ ...capture.counters }, {
    packets: 10, late: 0, duplicate: 0, foreignPayload: 0, samplesWritten: 4800, silenceSamples: 3200, reanchors: 0, sinkErrors: 0, redactedSamples: 0, toneEvents: 0, inbandTones: 0,
  });
});

test('a lost packet becomes exactly 160 samples of silence', async () => {
  const { capture, segment, send } = rig();
  for (const n of [0, 1, 3, 4]) send(n, { ts: 1000 + n * 160, at: n * 20 });
  await capture.stop(T0 + 100);
  assert.deepEqual(segment.audio(), Buffer.concat([payload(0), payload(1), silence(160), payload(3), payload(4)]));
});

test('packets reordered within the jitter window land in order', async () => {
  const { capture, segment, send } = rig();
  for (const [i, n] of [0, 2, 1, 4, 3, 5].entries()) {
    send(n, { ts: 500 + n * 160, at: i * 20 });
    capture.flush(T0 + i * 20);
  }
  await capture.stop(T0 + 120);
  assert.deepEqual(segment.audio(), Buffer.concat([0, 1, 2, 3, 4, 5].map((n) => payload(n))));
  assert.equal(capture.counters.late, 0);
});

test('a packet later than the jitter window is counted and dropped', async () => {
  const { capture, segment, send } = rig();
  send(0, { ts: 0, at: 0 });
  send(2, { ts: 320, at: 40 });
  tick(capture, 0, 300); // written out up to 100 ms: packet 1's place is gone
  send(1, { ts: 160, at: 300 });
  assert.equal(capture.counters.late, 1);
  await capture.stop(T0 + 60);
  assert.deepEqual(segment.audio().subarray(0, 480), Buffer.concat([payload(0), silence(160), payload(2)]));
});

test('a duplicate packet is ignored', async () => {
  const { capture, segment, send } = rig();
  send(0, { ts: 0, at: 0 });
  send(1, { ts: 160, at: 20 });
  send(1, { ts: 160, at: 25, body: payload(99) });
  await capture.stop(T0 + 40);
  assert.equal(capture.counters.duplicate, 1);
  assert.deepEqual(segment.audio(), Buffer.concat([payload(0), payload(1)]));
});

test('an SSRC change re-anchors by arrival time', async () => {
  const { capture, segment, send } = rig();
  for (let n = 0; n < 5; n++) send(n, { ts: 7000 + n * 160, at: 100 + n * 20 });
  tick(capture, 100, 400);
  // A new stream (a pcap replayed after hold, another media server) with unrelated timestamps.
  for (let n = 5; n < 10; n++) send(n, { ts: 3_000_000_000 + n * 160, at: 500 + n * 20, ssrc: 0x55 });
  await capture.stop(T0 + 800);
  const audio = segment.audio();
  assert.deepEqual(audio.subarray(800, 1600), Buffer.concat([0, 1, 2, 3, 4].map((n) => payload(n))));
  assert.deepEqual(audio.subarray(4800, 5600), Buffer.concat([5, 6, 7, 8, 9].map((n) => payload(n))));
  assert.equal(audio.subarray(1600, 4800).every((b) => b === SILENCE), true);
  assert.equal(capture.counters.reanchors, 1);
});

test('a timestamp jump, backwards or forwards, re-anchors by arrival time', async () => {
  const { capture, segment, send } = rig();
  for (let n = 0; n < 5; n++) send(n, { ts: 80_000 + n * 160, at: n * 20 });
  // Same SSRC, timestamps restart: contiguous in arrival, so contiguous in the capture.
  for (let n = 5; n < 10; n++) send(n, { ts: (n - 5) * 160, at: n * 20 });
  tick(capture, 0, 600);
  // After a 400 ms gap, timestamps leap two hours ahead: placed at arrival, the gap is silence.
  for (let n = 10; n < 12; n++) send(n, { ts: 57_600_000 + n * 160, at: 600 + n * 20 });
  await capture.stop(T0 + 840);
  const audio = segment.audio();
  assert.deepEqual(audio.subarray(0, 1600), Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => payload(n))));
  assert.equal(audio.subarray(1600, 6400).every((b) => b === SILENCE), true);
  assert.deepEqual(audio.subarray(6400, 6720), Buffer.concat([payload(10), payload(11)]));
  assert.equal(capture.counters.reanchors, 2);
  assert.equal(capture.counters.late, 0);
});

test('two legs with the same t0 stay aligned to arrival times however their packets started', async () => {
  const a = rig();
  const b = rig();
  // Unrelated timestamps and SSRCs; the caller's audio starts at 30 ms, the agent's at 170 ms.
  for (let n = 0; n < 20; n++) {
    a.send(n, { ts: 12345 + n * 160, at: 30 + n * 20, ssrc: 1 });
    b.send(100 + n, { ts: 4_000_000_000 + n * 160, at: 170 + n * 20, ssrc: 2 });
    a.capture.flush(T0 + 30 + n * 20);
    b.capture.flush(T0 + 30 + n * 20);
  }
  await Promise.all([a.capture.stop(T0 + 1000), b.capture.stop(T0 + 1000)]);
  const [audioA, audioB] = [a.segment.audio(), b.segment.audio()];
  assert.equal(audioA.length, audioB.length, 'both legs cover the same stretch of the call');
  assert.equal(audioA.indexOf(payload(0)), 30 * 8);
  assert.equal(audioB.indexOf(payload(100)), 170 * 8);
  assert.equal(audioB.indexOf(payload(119)) - audioA.indexOf(payload(19)), (170 - 30) * 8);
});

test('telephone-event packets are counted, not written', async () => {
  const { capture, segment, send } = rig();
  send(0, { ts: 0, at: 0 });
  // RFC 4733 events share the SSRC and clock; their payload must not reach a recording.
  send(1, { ts: 160, at: 20, pt: 101, body: Buffer.from([0x05, 0x0a, 0x00, 0xa0]) });
  send(2, { ts: 320, at: 40, pt: 13, body: Buffer.from([0x40]) });
  send(3, { ts: 480, at: 60 });
  await capture.stop(T0 + 80);
  assert.equal(capture.counters.foreignPayload, 2);
  assert.deepEqual(segment.audio(), Buffer.concat([payload(0), silence(320), payload(3)]));
});

test('stop() flushes everything held back, closes the sink once, and ignores what comes after', async () => {
  let closes = 0;
  const chunks: Buffer[] = [];
  const sink: SegmentSink = {
    write: (audio) => void chunks.push(Buffer.from(audio)),
    close: () => {
      closes++;
      return Promise.resolve();
    },
  };
  const capture = new LegCapture({ sink, codec: 'PCMU', payloadType: 0, t0: T0, jitterMs: 2000 });
  for (let n = 0; n < 5; n++) capture.onPacket(rtp(payload(n)), 12, 160, 0, n * 160, 9, T0 + n * 20);
  capture.flush(T0 + 100);
  assert.equal(chunks.length, 0, 'still inside the 2 s hold-back');
  const first = capture.stop(T0 + 100);
  const second = capture.stop(T0 + 5000);
  assert.equal(first, second);
  await first;
  capture.onPacket(rtp(payload(5)), 12, 160, 0, 5 * 160, 9, T0 + 100);
  capture.flush(T0 + 10_000);
  assert.equal(closes, 1);
  assert.deepEqual(Buffer.concat(chunks), Buffer.concat([0, 1, 2, 3, 4].map((n) => payload(n))));
  assert.equal(capture.counters.packets, 5);
});

test('a packet further ahead than the ring holds forces a flush and is kept', async () => {
  const { capture, segment, send } = rig({ jitterMs: 20 });
  // No flush at all for 5 s (a stalled clock): the ring (about 3 s) fills up.
  for (let n = 0; n < 250; n++) send(n, { ts: n * 160, at: n * 20 });
  assert.ok(capture.counters.samplesWritten > 0, 'forced out before the ring overflowed');
  await capture.stop(T0 + 5000);
  assert.deepEqual(segment.audio(), Buffer.concat(Array.from({ length: 250 }, (_, n) => payload(n))));
  assert.equal(capture.counters.late, 0);
});

test('a stream that falls behind the flush while still the newest audio is slipped forward, not dropped', async () => {
  const { capture, segment, send } = rig();
  for (let n = 0; n < 5; n++) send(n, { ts: n * 160, at: n * 20 });
  // The sender stalls 600 ms, then carries on with the next timestamps: its
  // packets would all be "late" for the rest of the call without the slip.
  tick(capture, 100, 700);
  const flushedAt = capture.counters.samplesWritten;
  for (let n = 5; n < 8; n++) send(n, { ts: n * 160, at: 600 + n * 20 });
  await capture.stop(T0 + 1000);
  const audio = segment.audio();
  assert.equal(capture.counters.late, 0);
  assert.equal(capture.counters.reanchors, 1);
  assert.equal(audio.indexOf(Buffer.concat([payload(5), payload(6), payload(7)])), flushedAt);
});

test('a throwing sink is reported once and counted; capture carries on', async () => {
  const errors: unknown[] = [];
  const sink: SegmentSink = {
    write: () => {
      throw new Error('disk full');
    },
    close: () => Promise.resolve(),
  };
  const capture = new LegCapture({ sink, codec: 'PCMA', payloadType: PT, t0: T0, jitterMs: 20, onSinkError: (e) => errors.push(e) });
  for (let n = 0; n < 20; n++) {
    capture.onPacket(rtp(payload(n)), 12, 160, PT, n * 160, 1, T0 + n * 20);
    capture.flush(T0 + n * 20);
  }
  await capture.stop(T0 + 400);
  assert.equal(errors.length, 1);
  assert.ok(capture.counters.sinkErrors > 1);
});

test('a payload that lies about its length is clamped to the packet', async () => {
  const { capture, segment } = rig();
  const packet = rtp(payload(0));
  capture.onPacket(packet, 12, 4000, PT, 0, 1, T0);
  capture.onPacket(packet, 400, 160, PT, 160, 1, T0 + 20);
  await capture.stop(T0 + 40);
  assert.deepEqual(segment.audio(), Buffer.concat([payload(0), silence(160)]));
});

test('silence stays silence after the ring wraps: no stale audio comes back', async () => {
  const { capture, segment, send } = rig({ jitterMs: 20 });
  for (let n = 0; n < 10; n++) send(n, { ts: n * 160, at: n * 20 });
  tick(capture, 0, 7000); // more than twice round the ring
  await capture.stop(T0 + 7000);
  const audio = segment.audio();
  assert.equal(audio.length, 7000 * 8);
  assert.deepEqual(audio.subarray(0, 1600), Buffer.concat(Array.from({ length: 10 }, (_, n) => payload(n))));
  assert.equal(audio.subarray(1600).every((b) => b === SILENCE), true);
  assert.equal(capture.counters.silenceSamples, 7000 * 8 - 1600);
});

test('placedUpTo: one past the furthest sample a packet filled, ahead of the clock when the stream was anchored on a late first packet', () => {
  const { capture, send } = rig();
  assert.equal(capture.placedUpTo, 0);
  // The first packet 30 ms late anchors the stream 30 ms behind where its timestamps say.
  send(0, { ts: 0, at: 30 });
  send(1, { ts: 160, at: 20 });
  assert.equal(capture.placedUpTo, 30 * 8 + 320);
  assert.ok(capture.placedUpTo > capture.positionAt(T0 + 20) + 160, 'ahead of the live position of its arrival');
  // A late packet behind the furthest does not move it back.
  send(5, { ts: 5 * 160, at: 100 });
  send(3, { ts: 3 * 160, at: 101 });
  assert.equal(capture.placedUpTo, 30 * 8 + 6 * 160);
});

test('a new stream arriving while the old one\'s audio is still ahead starts after it, overwriting nothing', async () => {
  const { capture, segment, send } = rig();
  // A burst: five packets arrive together, so their audio runs 80 ms ahead of arrival.
  for (let n = 0; n < 5; n++) send(n, { ts: n * 160, at: 100 });
  // A new SSRC (say, a transfer's media server) arrives 20 ms later.
  for (let n = 5; n < 8; n++) send(n, { ts: 90_000 + n * 160, at: 120 + (n - 5) * 20, ssrc: 77 });
  await capture.stop(T0 + 400);
  assert.equal(capture.counters.duplicate, 0);
  assert.equal(segment.audio().indexOf(Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7].map((n) => payload(n)))), 800);
});

test('with a lookback, a pause cuts the audio already buffered, both legs alike, and keeps them aligned', async () => {
  const gate = new CaptureGate({ startedAt: new Date(0), holdbackSamples: (200 + 1000) * 8, redactDtmf: true, dtmfQuietMs: 1000 });
  const legs = [rig({ gate, lookbackMs: 1000, leg: 'caller' }), rig({ gate, lookbackMs: 1000, leg: 'agent' })];
  // 3 s of audio on both legs; the pause comes at 2 s, resume at 2.5 s.
  for (let n = 0; n < 150; n++) {
    const at = n * 20;
    for (const l of legs) l.send(n, { ts: n * 160, at });
    if (at === 2000) gate.pause(legs[0]?.capture.positionAt(T0 + at) ?? 0, 'api', 'supervisor');
    if (at === 2500) gate.resume(legs[0]?.capture.positionAt(T0 + at) ?? 0);
    for (const l of legs) l.capture.flush(T0 + at);
  }
  for (const l of legs) await l.capture.stop(T0 + 3000);
  const cutFrom = (2000 - 1200) * 8;
  const cutTo = 2500 * 8;
  for (const l of legs) {
    const audio = l.segment.audio();
    const expected = Buffer.concat(Array.from({ length: 150 }, (_, n) => payload(n)));
    expected.fill(SILENCE, cutFrom, cutTo);
    assert.deepEqual(audio, expected, 'silence exactly over the window, the rest untouched');
    assert.equal(l.capture.counters.redactedSamples, cutTo - cutFrom);
  }
});

/** A call's gate that cuts digits (RFC 4733 or in-band) with 500 ms of quiet, over the default hold-back and lookback. */
function digitGate(): CaptureGate {
  return new CaptureGate({ startedAt: new Date(0), holdbackSamples: 1200 * 8, redactDtmf: true, dtmfQuietMs: 500 });
}

const inbandDetector = (events: ToneEvents): InbandDtmfDetector => new InbandDtmfDetector('PCMA', events);

test('an RFC 4733 digit is cut from the audio with its quiet time, on both legs', async () => {
  const gate = digitGate();
  const caller = rig({ gate, lookbackMs: 1000, leg: 'caller', telephoneEventPayloadType: 101 });
  const agent = rig({ gate, lookbackMs: 1000, leg: 'agent' });
  for (let n = 0; n < 150; n++) {
    const at = n * 20;
    agent.send(n, { ts: n * 160, at });
    // The caller's phone sends the key '5' from 1 s to 1.1 s as events instead of audio.
    if (at >= 1000 && at < 1100) {
      const duration = at - 1000 + 20;
      caller.send(n, { ts: 8000, at, pt: 101, body: Buffer.from([5, at + 20 >= 1100 ? 0x8a : 0x0a, (duration * 8) >> 8, (duration * 8) & 0xff]) });
    } else caller.send(n, { ts: n * 160, at });
    caller.capture.flush(T0 + at);
    agent.capture.flush(T0 + at);
  }
  await caller.capture.stop(T0 + 3000);
  await agent.capture.stop(T0 + 3000);
  const from = 8000 - 320;
  const to = 8800 + 320 + 4000;
  const expectedAgent = Buffer.concat(Array.from({ length: 150 }, (_, n) => payload(n)));
  expectedAgent.fill(SILENCE, from, to);
  assert.deepEqual(agent.segment.audio(), expectedAgent);
  const callerAudio = caller.segment.audio();
  assert.ok(callerAudio.subarray(from, to).every((b) => b === SILENCE), 'the tone and its quiet time are silence');
  assert.deepEqual(callerAudio.subarray(0, from), expectedAgent.subarray(0, from), 'speech before is intact');
  assert.deepEqual(callerAudio.subarray(to), expectedAgent.subarray(to), 'speech after is intact');
  assert.equal(caller.capture.counters.toneEvents, 5);
  assert.deepEqual(gate.pausedWindows().map((w) => [w.trigger, w.by]), [['dtmf-rfc4733', 'caller']]);
});

test('an action placed at a position runs when writing reaches it, between the samples before and after', async () => {
  const writes: number[] = [];
  const sink: SegmentSink = { write: (audio) => void writes.push(audio.length), close: () => Promise.resolve() };
  const capture = new LegCapture({ sink, codec: 'PCMA', payloadType: PT, t0: T0, jitterMs: 200 });
  for (let n = 0; n < 50; n++) capture.onPacket(rtp(payload(n)), 12, 160, PT, n * 160, SSRC, T0 + n * 20);
  capture.at(3000, () => writes.push(-1));
  tick(capture, 0, 1000);
  await capture.stop(T0 + 1000);
  const split = writes.indexOf(-1);
  assert.ok(split > 0);
  assert.equal(writes.slice(0, split).reduce((a, b) => a + b, 0), 3000, 'exactly the samples before the mark come first');
});

/** 20 ms of the key '5' (770 Hz + 1336 Hz, each about -10 dBm0) in PCMA, in phase with packet n. */
function keyFive(n: number): Buffer {
  const b = Buffer.alloc(160);
  for (let i = 0; i < 160; i++) {
    const t = (n * 160 + i) / 8000;
    b[i] = linearToAlaw(Math.round(5000 * Math.sin(2 * Math.PI * 770 * t) + 5000 * Math.sin(2 * Math.PI * 1336 * t)));
  }
  return b;
}

test('in-band tones that arrive after the detector has passed their place are dropped as late, never written unheard', async () => {
  // Packets 20-29 carry 200 ms of a key press and arrive 500 ms late: past the
  // jitter hold-back, so the detector has already heard their place as silence,
  // yet inside the lookback, so the ring still holds it.
  const late = new Set(Array.from({ length: 10 }, (_, i) => 20 + i));
  const run = async (detect: boolean, arriveAt = 55): Promise<{ audio: Buffer; late: number; tones: number }> => {
    const gate = digitGate();
    const r = rig({ gate, lookbackMs: 1000, leg: 'caller', ...(detect ? { toneDetector: inbandDetector } : {}) });
    for (let n = 0; n < 100; n++) {
      if (!late.has(n)) r.send(n, { ts: n * 160, at: n * 20, body: silence(160) });
      if (n === arriveAt) for (const m of late) r.send(m, { ts: m * 160, at: n * 20, body: keyFive(m) });
      r.capture.flush(T0 + n * 20);
    }
    await r.capture.stop(T0 + 2000);
    return { audio: r.segment.audio(), late: r.capture.counters.late, tones: r.capture.counters.inbandTones };
  };
  // On time, the detector hears the key and it is cut.
  const onTime = await run(true, 29);
  assert.equal(onTime.tones, 1);
  assert.equal(onTime.late, 0);
  assert.ok(onTime.audio.every((b) => b === SILENCE));
  const heard = await run(true);
  assert.equal(heard.late, 10, 'each tone packet behind the detector is counted as late');
  assert.ok(heard.audio.every((b) => b === SILENCE), 'no tone energy written');
  // Without a detector nothing needs hearing first: the lookback still takes late audio.
  const unheard = await run(false);
  assert.equal(unheard.late, 0);
  assert.deepEqual(unheard.audio.subarray(20 * 160, 30 * 160), Buffer.concat([...late].map(keyFive)));
});

test('queued packets, placed at the next flush, give exactly what placing each at once gives: audio, counters, windows', async () => {
  for (const seed of [1, 2, 3]) {
    const rnd = prng(seed);
    // One script of arrivals and flushes, played into two captures: one places each packet at once, one queues.
    type Step = { kind: 'packet'; n: number; ts: number; at: number; ssrc: number; pt: number; body: Buffer } | { kind: 'flush'; at: number };
    const script: Step[] = [];
    let ssrc = SSRC;
    let tsBase = 0;
    let at = 0;
    for (let n = 0; n < 600; n++) {
      if (rnd() < 0.005) ssrc = (ssrc + 1) >>> 0;
      if (rnd() < 0.005) tsBase += 50_000; // a timestamp jump
      at += rnd() < 0.02 ? 300 : 20; // now and then a stall
      const packet = { kind: 'packet' as const, n, ts: tsBase + n * 160, ssrc, pt: PT, body: payload(n) };
      const r = rnd();
      if (r < 0.05) continue; // lost
      // Late by up to 400 ms (past the jitter now and then), or duplicated.
      script.push({ ...packet, at: r < 0.15 ? at + Math.floor(rnd() * 400) : at });
      if (r > 0.97) script.push({ ...packet, at: at + 5 });
      if (r > 0.4 && r < 0.42) {
        const duration = 320;
        script.push({ kind: 'packet', n, ts: tsBase + n * 160, ssrc, pt: 101, at: at + 1, body: Buffer.from([5, 0x0a, duration >> 8, duration & 0xff]) });
      }
      // Ticks now and then late, and once none for a second: more than the queue holds piles up.
      if (n % 5 === 4 && (n < 300 || n >= 350) && rnd() > 0.03) script.push({ kind: 'flush', at });
    }
    script.sort((a, b) => a.at - b.at);
    const play = async (queued: boolean): Promise<{ audio: Buffer; counters: object[]; windows: object[] }> => {
      const gate = digitGate();
      const r = rig({ gate, lookbackMs: 1000, leg: 'caller', telephoneEventPayloadType: 101, toneDetector: inbandDetector });
      const counters: object[] = [];
      for (const step of script) {
        if (step.kind === 'flush') {
          r.capture.flush(T0 + step.at);
          counters.push({ ...r.capture.counters });
          continue;
        }
        const packet = rtp(step.body);
        const args = [packet, 12, step.body.length, step.pt, step.ts >>> 0, step.ssrc, T0 + step.at] as const;
        if (queued) r.capture.queue(...args);
        else r.capture.onPacket(...args);
      }
      await r.capture.stop(T0 + at + 2000);
      counters.push({ ...r.capture.counters });
      return { audio: r.segment.audio(), counters, windows: gate.pausedWindows() };
    };
    const now = await play(false);
    const later = await play(true);
    assert.ok(now.counters.some((c) => (c as { late: number }).late > 0), `seed ${seed}: the script makes some packets late`);
    assert.ok(now.windows.length > 0, `seed ${seed}: the script has tone windows`);
    assert.deepEqual(later.counters, now.counters, `seed ${seed}: counters after each flush`);
    assert.deepEqual(later.windows, now.windows, `seed ${seed}: windows`);
    assert.ok(later.audio.equals(now.audio), `seed ${seed}: audio`);
  }
});

test('a queued packet is placed by stop(), and placedUpTo and the counters see it before any flush', async () => {
  const { capture, segment } = rig();
  const body = payload(0);
  capture.queue(rtp(body), 12, 160, PT, 0, SSRC, T0);
  assert.equal(capture.counters.packets, 1);
  capture.queue(rtp(payload(1)), 12, 160, PT, 160, SSRC, T0 + 20);
  assert.equal(capture.placedUpTo, 320);
  capture.queue(rtp(payload(2)), 12, 160, PT, 320, SSRC, T0 + 40);
  await capture.stop(T0 + 60);
  assert.deepEqual(segment.audio().subarray(0, 480), Buffer.concat([body, payload(1), payload(2)]));
  capture.queue(rtp(payload(3)), 12, 160, PT, 480, SSRC, T0 + 60);
  assert.equal(capture.counters.packets, 3, 'nothing is queued after stop');
});
