/**
 * How fast one core runs the in-band DTMF detector over G.711, in samples per
 * second and in live legs (8000 samples/s each), beside a baseline measured in
 * the same run: a loop that only decodes the same bytes through a table, the
 * least any look at every sample costs.
 */
import { BUILTIN_ANNOUNCEMENT, BUILTIN_INFORMATION, loadAnnouncement } from '../src/media/announcement.js';
import { alawToLinear, encodeG711 } from '../src/media/g711.js';
import { InbandDtmfDetector } from '../src/media/inband-dtmf.js';

export interface InbandFigures {
  /** What was fed: speech (with its pauses), or loud noise where every block goes through all the filters. */
  readonly input: string;
  readonly samplesPerSecond: number;
  readonly legsPerCore: number;
  readonly baselineSamplesPerSecond: number;
  readonly baselineLegsPerCore: number;
}

/** What the capture hands the detector at each of its ~100 ms flushes. */
const PIECE = 800;
const SAMPLE_RATE = 8000;
const LINEAR = Float64Array.from({ length: 256 }, (_, code) => alawToLinear(code));

/**
 * Each loop is its own function, with the same pieces and the same clock
 * checks, so neither depends on how the engine inlines a shared driver.
 * Both return samples per CPU second.
 */
function detectRate(audio: Buffer, seconds: number, detector: InbandDtmfDetector): number {
  let pos = 0;
  let offset = 0;
  const start = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    detector.push(audio, offset, PIECE, pos);
    pos += PIECE;
    offset = offset + 2 * PIECE > audio.length ? 0 : offset + PIECE;
  }
  return pos / cpuSeconds(start);
}

function decodeRate(audio: Buffer, seconds: number, out: { sum: number }): number {
  let pos = 0;
  let offset = 0;
  const start = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    let sum = 0;
    for (let i = offset; i < offset + PIECE; i++) sum += LINEAR[audio[i] as number] as number;
    out.sum += sum;
    pos += PIECE;
    offset = offset + 2 * PIECE > audio.length ? 0 : offset + PIECE;
  }
  return pos / cpuSeconds(start);
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / 1e6;
}

/** Seeded white noise at about -10 dBm0, as A-law. */
function loudNoise(samples: number): Buffer {
  const pcm = Buffer.alloc(samples * 2);
  let seed = 1;
  for (let i = 0; i < samples; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    pcm.writeInt16LE(Math.round(((seed / 2 ** 32) * 2 - 1) * 8800), i * 2);
  }
  return encodeG711(pcm, 'PCMA');
}

export async function measureInbandDtmf(seconds = 1): Promise<InbandFigures[]> {
  const speech = Buffer.concat([(await loadAnnouncement(BUILTIN_ANNOUNCEMENT)).pcma, (await loadAnnouncement(BUILTIN_INFORMATION)).pcma]);
  const inputs: Array<[string, Buffer]> = [
    ['speech', speech],
    ['noise', loudNoise(speech.length)],
  ];
  const figures: InbandFigures[] = [];
  let tones = 0;
  const decoded = { sum: 0 };
  for (const [input, audio] of inputs) {
    const detector = new InbandDtmfDetector('PCMA', { onToneStart: () => tones++, onToneEnd: () => undefined });
    // A short first round of each lets the engine compile both loops before either is timed.
    decodeRate(audio, 0.1, decoded);
    detectRate(audio, 0.1, detector);
    const baseline = decodeRate(audio, seconds, decoded);
    const detect = detectRate(audio, seconds, detector);
    figures.push({
      input,
      samplesPerSecond: detect,
      legsPerCore: detect / SAMPLE_RATE,
      baselineSamplesPerSecond: baseline,
      baselineLegsPerCore: baseline / SAMPLE_RATE,
    });
  }
  // Neither loop may be optimised away, and neither input holds a digit.
  if (!Number.isFinite(decoded.sum) || tones > 0) throw new Error(`in-band bench: sum ${decoded.sum}, ${tones} tones found`);
  return figures;
}
