import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIPP_PCAP_DIR } from '../../src/cli/sipp.js';
import { BUILTIN_ANNOUNCEMENT, BUILTIN_INFORMATION, loadAnnouncement } from '../../src/media/announcement.js';
import { alawToLinear, encodeG711, PCMA_SILENCE, PCMU_SILENCE, ulawToLinear } from '../../src/media/g711.js';
import { INBAND_DTMF_BLOCK, InbandDtmfDetector, type InbandDtmfOptions } from '../../src/media/inband-dtmf.js';
import { DtmfBlockClassifier, KEYPAD } from '../../src/media/inband-dtmf-block.js';
import { newRtpView, parseRtp } from '../../src/media/rtp.js';
import { prng } from '../helpers/prng.js';
import { readPcapUdpPayloads } from './pcap.js';

type Law = 'PCMU' | 'PCMA';
const LAWS: readonly Law[] = ['PCMU', 'PCMA'];
const RATE = 8000;
const MS = RATE / 1000;
const N = INBAND_DTMF_BLOCK;

const ROWS: Record<string, number> = { '1': 697, '2': 697, '3': 697, A: 697, '4': 770, '5': 770, '6': 770, B: 770, '7': 852, '8': 852, '9': 852, C: 852, '*': 941, '0': 941, '#': 941, D: 941 };
const COLS: Record<string, number> = { '1': 1209, '4': 1209, '7': 1209, '*': 1209, '2': 1336, '5': 1336, '8': 1336, '0': 1336, '3': 1477, '6': 1477, '9': 1477, '#': 1477, A: 1633, B: 1633, C: 1633, D: 1633 };
const ALL_DIGITS = '0123456789*#ABCD';

/**
 * Peak of a 0 dBm0 sine, from the G.711 digital milliwatt (the µ-law
 * sequence that is 0 dBm0 by definition): RMS of its decoded samples times √2.
 */
const DBM0_PEAK = (() => {
  const dmw = [0x1e, 0x0b, 0x0b, 0x1e, 0x9e, 0x8b, 0x8b, 0x9e].map(ulawToLinear);
  return Math.sqrt(dmw.reduce((sum, s) => sum + s * s, 0) / dmw.length) * Math.SQRT2;
})();

const amplitude = (dbm0: number): number => DBM0_PEAK * 10 ** (dbm0 / 20);

interface Tone {
  digit: string;
  start: number;
  end: number;
}

/** Audio in linear samples (doubles), built up by the helpers below, then encoded. */
function audio(ms: number): Float64Array {
  return new Float64Array(Math.round(ms * MS));
}

function addSine(pcm: Float64Array, from: number, samples: number, hz: number, dbm0: number, phase = 0): void {
  const a = amplitude(dbm0);
  for (let i = 0; i < samples && from + i < pcm.length; i++) pcm[from + i] = (pcm[from + i] as number) + a * Math.sin((2 * Math.PI * hz * i) / RATE + phase);
}

/** A DTMF digit as two sines, each at its own level (the twist is their difference), with random phases. */
function addDigit(pcm: Float64Array, from: number, samples: number, digit: string, levels: { row?: number; col?: number; detune?: number } = {}, rnd = prng(7)): Tone {
  const detune = 1 + (levels.detune ?? 0);
  addSine(pcm, from, samples, (ROWS[digit] as number) * detune, levels.row ?? -10, rnd() * 2 * Math.PI);
  addSine(pcm, from, samples, (COLS[digit] as number) * detune, levels.col ?? -10, rnd() * 2 * Math.PI);
  return { digit, start: from, end: from + samples };
}

/** White noise of the given level (RMS, in dBm0) over all of pcm, from a seeded generator. */
function addNoise(pcm: Float64Array, dbm0: number, seed: number, from = 0, to = pcm.length): void {
  const rnd = prng(seed);
  // Uniform noise on ±h has RMS h/√3; a 0 dBm0 sine has RMS DBM0_PEAK/√2.
  const h = (amplitude(dbm0) / Math.SQRT2) * Math.sqrt(3);
  for (let i = from; i < to; i++) pcm[i] = (pcm[i] as number) + (rnd() * 2 - 1) * h;
}

function encode(pcm: Float64Array, law: Law): Buffer {
  const le = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) le.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(pcm[i] as number))), i * 2);
  return encodeG711(le, law);
}

function decode(g711: Buffer, law: Law): Float64Array {
  const f = law === 'PCMU' ? ulawToLinear : alawToLinear;
  return Float64Array.from(g711, (b) => f(b));
}

/**
 * Runs a detector over `g711`, cut into pieces of the given sizes in turn (the
 * whole buffer at once when none), and flushes at the end. Returns the tones,
 * checking that starts and ends alternate and name the same digit. Each piece
 * is handed over in a buffer that is scribbled over once push returns, as the
 * capture ring is refilled with silence: the detector may keep no view of it.
 */
function detect(g711: Buffer, law: Law, pieces: readonly number[] = [], opts?: InbandDtmfOptions): Tone[] {
  const tones: Tone[] = [];
  let open: Tone | undefined;
  const detector = new InbandDtmfDetector(law, {
    onToneStart(digit, start) {
      assert.equal(open, undefined, `a tone starts (${digit} at ${start}) while ${open?.digit} is open`);
      open = { digit, start, end: -1 };
    },
    onToneEnd(digit, end) {
      assert.ok(open, `${digit} ends at ${end} without a start`);
      assert.equal(digit, open.digit);
      assert.ok(end > open.start, `${digit} ends at ${end}, not after its start ${open.start}`);
      open.end = end;
      tones.push(open);
      open = undefined;
    },
  }, opts);
  const scratch = Buffer.alloc(g711.length + 8);
  const pushCopy = (at: number, n: number): void => {
    // The piece sits at an odd place in the scratch buffer, not where it sits in g711.
    g711.copy(scratch, 3, at, at + n);
    detector.push(scratch, 3, n, at);
    scratch.fill(0x55 ^ (at & 0xff), 0, n + 3);
  };
  if (pieces.length === 0) pushCopy(0, g711.length);
  for (let at = 0, i = 0; pieces.length > 0 && at < g711.length; i++) {
    const n = Math.min(pieces[i % pieces.length] as number, g711.length - at);
    pushCopy(at, n);
    at += n;
  }
  detector.flush(g711.length);
  assert.equal(open, undefined, 'flush ends the open tone');
  return tones;
}

function digitsOf(tones: readonly Tone[]): string {
  return tones.map((t) => t.digit).join('');
}

/** Every digit, 60 ms on and 60 ms off after 100 ms of quiet, at the given levels. */
function keypadSequence(levels: { row?: number; col?: number; detune?: number } = {}, digits = ALL_DIGITS): { pcm: Float64Array; truth: Tone[] } {
  const pcm = audio(100 + digits.length * 120);
  const rnd = prng(42);
  const truth = [...digits].map((d, i) => addDigit(pcm, (100 + i * 120) * MS, 60 * MS, d, levels, rnd));
  return { pcm, truth };
}

function assertMatches(found: readonly Tone[], truth: readonly Tone[], what: string): void {
  assert.equal(digitsOf(found), digitsOf(truth), `${what}: digits`);
  found.forEach((t, i) => {
    const want = truth[i] as Tone;
    assert.ok(Math.abs(t.start - want.start) <= N, `${what}: ${t.digit} starts at ${t.start}, the tone at ${want.start}`);
    assert.ok(Math.abs(t.end - want.end) <= N, `${what}: ${t.digit} ends at ${t.end}, the tone at ${want.end}`);
  });
}

test('every digit at -10 dBm0, 60 ms on and 60 ms off, is found in order at its place, in both laws', () => {
  const { pcm, truth } = keypadSequence();
  for (const law of LAWS) assertMatches(detect(encode(pcm, law), law), truth, law);
});

test('a tone at -25 dBm0 is found; one below the minimum level is not', () => {
  for (const law of LAWS) {
    const quiet = keypadSequence({ row: -25, col: -25 });
    assertMatches(detect(encode(quiet.pcm, law), law), quiet.truth, `${law} -25 dBm0`);
    const tooQuiet = keypadSequence({ row: -36, col: -36 });
    assert.deepEqual(detect(encode(tooQuiet.pcm, law), law), [], `${law} -36 dBm0`);
    // The minimum is an option.
    assert.deepEqual(detect(encode(quiet.pcm, law), law, [], { minLevelDbm0: -20 }), [], `${law} -25 dBm0 with a -20 dBm0 minimum`);
  }
});

test('twist within the limits is found, beyond them refused', () => {
  for (const law of LAWS) {
    // Normal twist: the column (high) tone weaker than the row tone; the limit is 8 dB.
    const normal = keypadSequence({ row: -8, col: -14 });
    assertMatches(detect(encode(normal.pcm, law), law), normal.truth, `${law} normal twist 6 dB`);
    assert.deepEqual(detect(encode(keypadSequence({ row: -6, col: -17 }).pcm, law), law), [], `${law} normal twist 11 dB`);
    // Reverse twist: the column tone stronger; the limit is 4 dB.
    const reverse = keypadSequence({ row: -12, col: -9.5 });
    assertMatches(detect(encode(reverse.pcm, law), law), reverse.truth, `${law} reverse twist 2.5 dB`);
    // Near the limit the row tone holds under a third of the pair: the column filters, skipped when the row is too weak for any digit, must still run.
    const nearLimit = keypadSequence({ row: -12, col: -9 });
    assertMatches(detect(encode(nearLimit.pcm, law), law), nearLimit.truth, `${law} reverse twist 3 dB`);
    assert.deepEqual(detect(encode(keypadSequence({ row: -14, col: -7 }).pcm, law), law), [], `${law} reverse twist 7 dB`);
  }
  // The limits are options.
  const normal = keypadSequence({ row: -8, col: -14 });
  assert.deepEqual(detect(encode(normal.pcm, 'PCMU'), 'PCMU', [], { normalTwistDb: 3 }), [], 'normal twist 6 dB with a 3 dB limit');
  const reverse = keypadSequence({ row: -12, col: -9.5 });
  assert.deepEqual(detect(encode(reverse.pcm, 'PCMU'), 'PCMU', [], { reverseTwistDb: 1 }), [], 'reverse twist 2.5 dB with a 1 dB limit');
  const wide = keypadSequence({ row: -14, col: -7 });
  assertMatches(detect(encode(wide.pcm, 'PCMU'), 'PCMU', [], { reverseTwistDb: 10 }), wide.truth, 'reverse twist 7 dB with a 10 dB limit');
});

test('frequencies 1.5 % off nominal are still found', () => {
  for (const detune of [-0.015, 0.015]) {
    const { pcm, truth } = keypadSequence({ detune });
    assertMatches(detect(encode(pcm, 'PCMA'), 'PCMA'), truth, `detuned ${detune * 100} %`);
  }
});

test('a 40 ms tone is found at every alignment to the blocks; a 21 ms tone at none', () => {
  for (const law of LAWS) {
    for (const digit of ALL_DIGITS) {
      for (let shift = 0; shift < N; shift += 9) {
        const long = audio(200);
        const truth = addDigit(long, 50 * MS + shift, 40 * MS, digit);
        assertMatches(detect(encode(long, law), law), [truth], `${law} ${digit} for 40 ms shifted by ${shift}`);
        const short = audio(200);
        addDigit(short, 50 * MS + shift, 21 * MS, digit);
        assert.deepEqual(detect(encode(short, law), law), [], `${law} ${digit} for 21 ms shifted by ${shift}`);
      }
    }
  }
});

test('pieces of any size give the same tones as one piece; audio heard twice is skipped', () => {
  const { pcm, truth } = keypadSequence({}, '159#D');
  for (const law of LAWS) {
    const g711 = encode(pcm, law);
    const whole = detect(g711, law);
    assertMatches(whole, truth, law);
    for (const size of [1, 7, 160, 333]) assert.deepEqual(detect(g711, law, [size]), whole, `${law} pieces of ${size}`);
    assert.deepEqual(detect(g711, law, [1, 7, 160, 333]), whole, `${law} pieces of mixed sizes`);

    // Each piece starts 50 samples before where the last one ended.
    const tones: Tone[] = [];
    const detector = new InbandDtmfDetector(law, {
      onToneStart: (digit, start) => tones.push({ digit, start, end: -1 }),
      onToneEnd: (_digit, end) => void ((tones.at(-1) as Tone).end = end),
    });
    for (let at = 0; at < g711.length; at += 110) {
      const from = Math.max(0, at - 50);
      detector.push(g711, from, Math.min(at + 110, g711.length) - from, from);
    }
    detector.flush(g711.length);
    assert.deepEqual(tones, whole, `${law} overlapping pieces`);
  }
});

test('a gap in positions does not piece a tone together from the audio on both sides', () => {
  // Two 20 ms halves of one digit: together a 40 ms tone, each alone too short.
  const pcm = audio(140);
  addDigit(pcm, 50 * MS, 40 * MS, '8');
  const g711 = encode(pcm, 'PCMU');
  const half = 70 * MS;
  assert.equal(digitsOf(detect(g711, 'PCMU')), '8', 'without the gap the halves are one tone');

  for (const gap of [1, 30, N, 5000]) {
    const tones: string[] = [];
    const detector = new InbandDtmfDetector('PCMU', {
      onToneStart: (digit) => tones.push(digit),
      onToneEnd: () => undefined,
    });
    detector.push(g711, 0, half, 0);
    detector.push(g711, half, g711.length - half, half + gap);
    detector.flush(g711.length + gap);
    assert.deepEqual(tones, [], `gap of ${gap}`);
  }
});

test('a tone still sounding is ended by flush at the given position', () => {
  const pcm = audio(200);
  addDigit(pcm, 100 * MS, 100 * MS, '#');
  const g711 = encode(pcm, 'PCMA');
  const tones = detect(g711, 'PCMA');
  assert.equal(digitsOf(tones), '#');
  assert.equal(tones[0]?.end, g711.length);
});

test('no tone in silence, white noise, single tones, dial tone or speech', async () => {
  const rnd = prng(3);
  const cases: Array<[string, Float64Array]> = [];
  cases.push(['digital silence', audio(2000)]);
  const noise = audio(5000);
  addNoise(noise, -12, 11);
  cases.push(['white noise at -12 dBm0', noise]);
  for (const [hz, dbm0] of [[1000, -10], [425, -10], [1000, 0], [1400, -10]] as const) {
    const pcm = audio(2000);
    addSine(pcm, 0, pcm.length, hz, dbm0, rnd());
    cases.push([`${hz} Hz at ${dbm0} dBm0`, pcm]);
  }
  const dial = audio(3000);
  addSine(dial, 0, dial.length, 350, -13, rnd());
  addSine(dial, 0, dial.length, 440, -13, rnd());
  cases.push(['dial tone 350+440 Hz', dial]);

  for (const law of LAWS) {
    const silence = Buffer.alloc(16000, law === 'PCMU' ? PCMU_SILENCE : PCMA_SILENCE);
    assert.deepEqual(detect(silence, law), [], `${law} silence byte`);
    for (const [what, pcm] of cases) assert.deepEqual(detect(encode(pcm, law), law), [], `${law} ${what}`);
  }

  for (const file of [BUILTIN_ANNOUNCEMENT, BUILTIN_INFORMATION]) {
    const a = await loadAnnouncement(file);
    for (const law of LAWS) {
      const g711 = law === 'PCMU' ? a.pcmu : a.pcma;
      assert.deepEqual(detect(g711, law), [], `${law} speech in ${file}`);
      // Louder speech (6 dB up, clipping where it must) is no tone either.
      const loud = decode(g711, law).map((s) => s * 2);
      assert.deepEqual(detect(encode(loud, law), law), [], `${law} loud speech in ${file}`);
    }
  }

  // A real call's speech: the A-law RTP of the SIPp speech capture.
  const view = newRtpView();
  const payloads: Buffer[] = [];
  for (const p of readPcapUdpPayloads(`${SIPP_PCAP_DIR}/g711a.pcap`)) {
    if (parseRtp(p, view) && view.payloadType === 8) payloads.push(p.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength));
  }
  const call = Buffer.concat(payloads);
  assert.ok(call.length > 5 * RATE, `${call.length} samples of speech`);
  assert.deepEqual(detect(call, 'PCMA'), [], 'speech of the SIPp capture');
});

test('a digit with more beside it (a third tone, a harmonic, a second row or column) is no digit', () => {
  const rnd = prng(9);
  // 200 ms of '5' (770 + 1336 Hz) at -10 dBm0 each, with something else in it as well.
  const cases: Array<[string, number, number]> = [
    ['a third tone as loud (a chord)', 500, -10],
    ['the column second harmonic 6 dB down (voiced speech)', 2 * 1336, -16],
    ['a second row 6 dB down', 852, -16],
    ['a second column 6 dB down', 1477, -16],
  ];
  const plain = audio(300);
  addDigit(plain, 50 * MS, 200 * MS, '5', {}, rnd);
  assert.equal(digitsOf(detect(encode(plain, 'PCMU'), 'PCMU')), '5', 'the digit alone');
  for (const [what, hz, dbm0] of cases) {
    const pcm = audio(300);
    addDigit(pcm, 50 * MS, 200 * MS, '5', {}, rnd);
    addSine(pcm, 50 * MS, 200 * MS, hz, dbm0, rnd());
    for (const law of LAWS) assert.deepEqual(detect(encode(pcm, law), law), [], `${law}: ${what}`);
  }
});

/** Power of a signal, as the mean of its squares. */
function power(pcm: Float64Array, from = 0, to = pcm.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (pcm[i] as number) ** 2;
  return sum / (to - from);
}

test('digits under white noise 10 dB below them, or speech 20 dB below them, are still found', async () => {
  // Tones at -10 dBm0 each: -7 dBm0 together, so the noise is at -17 dBm0.
  const noisy = keypadSequence();
  addNoise(noisy.pcm, -17, 5);
  for (const law of LAWS) assertMatches(detect(encode(noisy.pcm, law), law), noisy.truth, `${law} white noise at 10 dB SNR`);

  // Speech under the digits (someone talking nearby), scaled so its power is 20 dB below the tones'.
  const speech = decode((await loadAnnouncement(BUILTIN_INFORMATION)).pcmu, 'PCMU');
  const { pcm, truth } = keypadSequence();
  const length = pcm.length;
  const from = 16000;
  const tonePower = power(pcm, 100 * MS) * 2;
  const gain = Math.sqrt(tonePower / 100 / power(speech, from, from + length));
  for (let i = 0; i < length; i++) pcm[i] = (pcm[i] as number) + (speech[from + i] as number) * gain;
  for (const law of LAWS) assertMatches(detect(encode(pcm, law), law), truth, `${law} speech at 20 dB SNR`);
});

/**
 * The rule with nothing skipped: every block classified, a tone starts at the
 * first of two blocks in a row with the same digit and ends after the last
 * block with it, once two blocks in a row lack it.
 */
function everyBlock(g711: Buffer, law: Law): Tone[] {
  const table = Float64Array.from({ length: 256 }, (_, code) => (law === 'PCMU' ? ulawToLinear(code) : alawToLinear(code)));
  const classifier = new DtmfBlockClassifier(table);
  const samples = decode(g711, law);
  const tones: Tone[] = [];
  let prev = -1;
  let active: Tone | undefined;
  let activeKey = -1;
  let absent = 0;
  for (let b = 0; b + N <= samples.length; b += N) {
    const block = samples.subarray(b, b + N);
    const key = classifier.classify(g711, b, block.reduce((e, x) => e + x * x, 0));
    if (active) {
      if (key === activeKey) {
        absent = 0;
        active.end = b + N;
      } else if (++absent >= 2) {
        tones.push(active);
        active = undefined;
        activeKey = -1;
      }
    }
    if (!active && key >= 0 && key === prev) {
      active = { digit: KEYPAD[key] as string, start: b - N, end: b + N };
      activeKey = key;
      absent = 0;
    }
    prev = key;
  }
  if (active) tones.push(active);
  return tones;
}

test('skipping the filters after a block with no digit finds exactly the tones that classifying every block finds', async () => {
  const speech = decode(Buffer.concat([(await loadAnnouncement(BUILTIN_ANNOUNCEMENT)).pcma, (await loadAnnouncement(BUILTIN_INFORMATION)).pcma]), 'PCMA');
  const rnd = prng(2024);
  for (const law of LAWS) {
    // Tones of 25 to 90 ms at every alignment, in bursts, over speech and quiet noise: many near misses.
    const pcm = audio(20_000);
    pcm.set(speech.subarray(0, pcm.length).map((x) => x / 4));
    addNoise(pcm, -45, 5);
    for (let at = 800; at < pcm.length - 1000; at += Math.floor(400 + rnd() * 900)) {
      addDigit(pcm, at, Math.floor((25 + rnd() * 65) * MS), ALL_DIGITS[Math.floor(rnd() * 16)] as string, { row: -8 - rnd() * 20, col: -8 - rnd() * 20 }, rnd);
    }
    const g711 = encode(pcm, law);
    const want = everyBlock(g711, law);
    assert.ok(want.length > 40, `${law}: the reference finds many tones (${want.length})`);
    assert.deepEqual(detect(g711, law, [160, 77, 1000, 3]), want, law);
  }
});

test('push refuses a range outside the bytes; the constructor refuses options that are not numbers', () => {
  const events = { onToneStart: () => undefined, onToneEnd: () => undefined };
  const detector = new InbandDtmfDetector('PCMU', events);
  const bytes = new Uint8Array(160);
  assert.throws(() => detector.push(bytes, 100, 61, 0), RangeError);
  assert.throws(() => detector.push(bytes, -1, 10, 0), RangeError);
  assert.throws(() => detector.push(bytes, 0, 10, Number.NaN), RangeError);
  detector.push(bytes, 0, 160, 0);
  assert.throws(() => new InbandDtmfDetector('PCMA', events, { minLevelDbm0: Number.NaN }), RangeError);
  assert.throws(() => new InbandDtmfDetector('PCMA', events, { normalTwistDb: Number.POSITIVE_INFINITY }), RangeError);
});
