/**
 * One block of in-band DTMF detection: which key, if any, 102 samples of
 * audio hold. Four Goertzel filters (the rows) in one pass, four more (the
 * columns) only when the row tone is strong enough for a digit, then the
 * checks of ITU-T Q.23/Q.24 practice; the stream around it (positions, gaps,
 * tones that span blocks) is inband-dtmf.ts.
 */

export interface InbandDtmfOptions {
  /** Weakest tone (each of the pair) accepted, in dBm0. Default -30. */
  readonly minLevelDbm0?: number;
  /** How far the column tone may be below the row tone, in dB. Default 8. */
  readonly normalTwistDb?: number;
  /** How far the column tone may be above the row tone, in dB. Default 4. */
  readonly reverseTwistDb?: number;
}

/** Samples per analysis block; a tone's reported span may miss up to one block at each end. */
export const INBAND_DTMF_BLOCK = 102;

const N = INBAND_DTMF_BLOCK;
const SAMPLE_RATE = 8000;
const ROW_HZ = [697, 770, 852, 941] as const;
const COL_HZ = [1209, 1336, 1477, 1633] as const;
/** The keypad by row, then column. */
export const KEYPAD = ['1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D'] as const;

/**
 * Peak amplitude of a 0 dBm0 sine in 16-bit linear: the G.711 digital
 * milliwatt decodes to an RMS of 16 017 in µ-law and 16 139 in A-law, which
 * this puts within 0.04 dB.
 */
const DBM0_PEAK = 22_700;
/** Each other frequency of the group at least 8 dB below the strongest. */
const RELATIVE_PEAK = 10 ** (8 / 10);
/**
 * The pair's share of the block's energy, where 1 is a pure pair. Quantising,
 * an off-nominal frequency (±1.5 % must pass) and line noise at 10 dB below
 * the tone each take some of it; speech, music and noise take most of it.
 */
const TONE_SHARE = 0.7;
/**
 * The column's second harmonic (2418-3266 Hz) lies far from every DTMF
 * frequency, so it must be well below the column tone: voiced speech has
 * harmonics, a DTMF generator does not. The row's (1394-1882 Hz) is not
 * checked: it sits within 60-70 Hz of a column frequency, whose tone leaks
 * into it through a 102-sample window as strongly as any harmonic would.
 */
const COL_HARMONIC = 10 ** (-12 / 10);
/**
 * Each end of the block carries at least this share of the energy, per
 * sample, that the whole block does. A block only partly filled by a tone
 * fails unless the tone covers about nine tenths of it, so two blocks in a
 * row need about 22 ms of tone. An end spans whole periods of the pair's beat
 * (the difference of its two frequencies), up to END_SPAN samples: over a
 * fixed span the beat would move the energy by up to ±20 %.
 */
const STEADY = 0.7;
const END_SPAN = 34;

const coefficient = (hz: number): number => 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE);
const FUNDAMENTAL = Float64Array.from([...ROW_HZ, ...COL_HZ], coefficient);
const HARMONIC = Float64Array.from([...ROW_HZ, ...COL_HZ], (hz) => coefficient(2 * hz));
/** Per key: the most whole periods of its beat that fit in END_SPAN samples. */
const SPAN = Uint8Array.from(KEYPAD, (_, key) => {
  const beat = SAMPLE_RATE / ((COL_HZ[key % 4] as number) - (ROW_HZ[key >> 2] as number));
  return Math.round(Math.max(1, Math.floor(END_SPAN / beat)) * beat);
});

/** Goertzel power of one frequency over the block: (A·N/2)² for a sine of amplitude A on it. */
function goertzel(bytes: Uint8Array, at: number, table: Float64Array, c: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let n = 0; n < N; n++) {
    const s0 = (table[bytes[at + n] as number] as number) + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/** Judges full blocks; holds only its thresholds and a scratch array, so it allocates nothing per block. */
export class DtmfBlockClassifier {
  /** Goertzel power that a sine at the minimum level reaches. */
  private readonly minPower: number;
  /** Below this block energy no frequency can reach minPower (|X|² ≤ N·Σx²): the filters are skipped. */
  private readonly minEnergy: number;
  private readonly normalTwist: number;
  private readonly reverseTwist: number;
  /**
   * 1 + reverseTwist, a hair over: the most the pair can be, as a multiple of
   * its row tone, once the twist check has passed. The hair covers rounding,
   * so no block the full checks would pass is skipped by it.
   */
  private readonly pairBound: number;
  /** Filter outputs of the last block: rows 0-3, columns 4-7. */
  private readonly power = new Float64Array(8);

  /** G.711 code → linear sample, for the codec of the blocks classified. */
  private readonly table: Float64Array;

  constructor(table: Float64Array, opts: InbandDtmfOptions = {}) {
    this.table = table;
    const { minLevelDbm0 = -30, normalTwistDb = 8, reverseTwistDb = 4 } = opts;
    // A NaN would pass every comparison it is in: refuse it rather than detect with a check gone.
    if (![minLevelDbm0, normalTwistDb, reverseTwistDb].every(Number.isFinite)) {
      throw new RangeError(`in-band DTMF options must be finite numbers (${JSON.stringify(opts)})`);
    }
    const minAmplitude = DBM0_PEAK * 10 ** (minLevelDbm0 / 20);
    this.minPower = ((minAmplitude * N) / 2) ** 2;
    this.minEnergy = this.minPower / N;
    this.normalTwist = 10 ** (normalTwistDb / 10);
    this.reverseTwist = 10 ** (reverseTwistDb / 10);
    this.pairBound = (1 + this.reverseTwist) * (1 + 1e-9);
  }

  /** False when a block of this energy cannot hold a digit, so it need not be decoded or filtered. */
  mayHoldDigit(energy: number): boolean {
    return energy >= this.minEnergy;
  }

  /**
   * The key (index into KEYPAD) that a full block of INBAND_DTMF_BLOCK
   * G.711 bytes from bytes[at] holds, or -1. `energy` is the sum of the
   * squares of their samples, which the caller adds up anyway as the block
   * fills. The filters read the bytes through the table: no decoded copy.
   */
  classify(bytes: Uint8Array, at: number, energy: number): number {
    if (!this.mayHoldDigit(energy)) return -1;
    const p = this.power;
    const table = this.table;
    // The row filters first. The column tone is at most reverseTwist above
    // the row tone, so a block whose strongest row cannot make the pair's
    // share of the energy even with the strongest column allowed holds no
    // digit, and the column filters are skipped: in speech, 19 blocks in 20
    // of those loud enough to be filtered at all.
    fourFilters(bytes, at, table, p, 0);
    const row = strongest(p, 0);
    const rowPower = p[row] as number;
    const share = TONE_SHARE * (N / 2) * energy;
    if (rowPower < this.minPower || rowPower * this.pairBound < share) return -1;
    fourFilters(bytes, at, table, p, 4);
    const col = strongest(p, 4);
    const colPower = p[col] as number;
    if (colPower < this.minPower) return -1;
    if (colPower * this.normalTwist < rowPower || rowPower * this.reverseTwist < colPower) return -1;
    for (let i = 0; i < 4; i++) {
      if (i !== row && (p[i] as number) * RELATIVE_PEAK > rowPower) return -1;
      if (i + 4 !== col && (p[i + 4] as number) * RELATIVE_PEAK > colPower) return -1;
    }
    if (rowPower + colPower < share) return -1;
    // Rarely reached (a block that looks like a digit), so these last passes over it cost nothing overall.
    if (goertzel(bytes, at, table, HARMONIC[col] as number) > COL_HARMONIC * colPower) return -1;
    const key = row * 4 + (col - 4);
    return steady(bytes, at, table, energy, SPAN[key] as number) ? key : -1;
  }
}

/**
 * Goertzel powers of FUNDAMENTAL[from..from+3] over the block into
 * p[from..from+3]: four filters in one pass, so the block stays in registers
 * and cache and the four chains of each sample run side by side.
 */
function fourFilters(bytes: Uint8Array, at: number, table: Float64Array, p: Float64Array, from: number): void {
  const c0 = FUNDAMENTAL[from] as number;
  const c1 = FUNDAMENTAL[from + 1] as number;
  const c2 = FUNDAMENTAL[from + 2] as number;
  const c3 = FUNDAMENTAL[from + 3] as number;
  let a0 = 0, b0 = 0, a1 = 0, b1 = 0, a2 = 0, b2 = 0, a3 = 0, b3 = 0;
  for (let n = 0; n < N; n++) {
    const v = table[bytes[at + n] as number] as number;
    let s = v + c0 * a0 - b0;
    b0 = a0;
    a0 = s;
    s = v + c1 * a1 - b1;
    b1 = a1;
    a1 = s;
    s = v + c2 * a2 - b2;
    b2 = a2;
    a2 = s;
    s = v + c3 * a3 - b3;
    b3 = a3;
    a3 = s;
  }
  p[from] = a0 * a0 + b0 * b0 - c0 * a0 * b0;
  p[from + 1] = a1 * a1 + b1 * b1 - c1 * a1 * b1;
  p[from + 2] = a2 * a2 + b2 * b2 - c2 * a2 * b2;
  p[from + 3] = a3 * a3 + b3 * b3 - c3 * a3 * b3;
}

/** Whether the block's two ends carry their share of its energy, as a tone that fills the block does. */
function steady(bytes: Uint8Array, at: number, table: Float64Array, energy: number, span: number): boolean {
  let head = 0;
  let tail = 0;
  for (let n = 0; n < span; n++) {
    head += (table[bytes[at + n] as number] as number) ** 2;
    tail += (table[bytes[at + N - 1 - n] as number] as number) ** 2;
  }
  return Math.min(head, tail) >= STEADY * energy * (span / N);
}

/** Index of the largest of p[from..from+3]. */
function strongest(p: Float64Array, from: number): number {
  let best = from;
  for (let i = from + 1; i < from + 4; i++) if ((p[i] as number) > (p[best] as number)) best = i;
  return best;
}
