/**
 * In-band DTMF: key presses that a trunk sends as audio rather than as
 * RFC 4733 events. The recorder must never store one (card digits), so each
 * leg's audio goes through this detector, about a second behind the live
 * call, and the span of every tone found is silenced before it is written.
 *
 * The detector speaks in sample positions, never in wall time, and runs over
 * every sample of every recorded leg: one table lookup per byte, eight
 * Goertzel filters per sample of the blocks that can matter (see endBlock),
 * no allocation after construction, no logging.
 *
 * Detection follows ITU-T Q.23/Q.24 practice, per block of 102 samples
 * (12.75 ms): a block holds a digit when the strongest row and column
 * frequencies are each well above the other three of their group, both reach
 * the minimum level, their ratio is within the twist limits, together they
 * carry most of the block's energy, the column tone has no strong second
 * harmonic, and the tone fills the block (its ends are as loud as the rest).
 * The same digit in two blocks in a row is a tone: any tone of 38 ms or more
 * fills two blocks whatever its alignment, so tones of 40 ms (the Q.24
 * minimum) are found, while two blocks need at least about 22 ms of tone, so
 * shorter bursts are not. A tone ends when its digit has been absent for two
 * blocks in a row: a dropout that spoils a single block does not split it.
 */
import { alawToLinear, ulawToLinear } from './g711.js';
import { DtmfBlockClassifier, INBAND_DTMF_BLOCK, KEYPAD, type InbandDtmfOptions } from './inband-dtmf-block.js';

export { INBAND_DTMF_BLOCK, type InbandDtmfOptions } from './inband-dtmf-block.js';

export interface InbandDtmfEvents {
  /** A tone was recognised; `start` is the sample position of its first block. */
  onToneStart(digit: string, start: number): void;
  /** The tone ended at sample position `end` (exclusive): the end of the last block that held it. */
  onToneEnd(digit: string, end: number): void;
}

const N = INBAND_DTMF_BLOCK;
/** A classified block that holds no digit. */
const NO_KEY = -1;
/** A block that was not classified (see endBlock). */
const UNKNOWN = -2;
/** Blocks in a row without the digit that end its tone (two in a row with it start one). */
const END_BLOCKS = 2;

/** G.711 code → linear sample as a double: the block is analysed in doubles, so convert once in the table. */
const LINEAR = {
  PCMU: Float64Array.from({ length: 256 }, (_, code) => ulawToLinear(code)),
  PCMA: Float64Array.from({ length: 256 }, (_, code) => alawToLinear(code)),
} as const;

/** One per leg and direction; feed it every sample of the leg, in order. */
export class InbandDtmfDetector {
  private readonly table: Float64Array;
  private readonly events: InbandDtmfEvents;
  private readonly classifier: DtmfBlockClassifier;

  /** The block being filled, as linear samples, and its energy so far. */
  private block = new Float64Array(N);
  private filled = 0;
  private energy = 0;
  /** The last full block and its energy, kept until the next one is full: it may be classified late. */
  private previous = new Float64Array(N);
  private previousEnergy = 0;
  /** The sample position the next byte should have; -1 before the first push. */
  private next = -1;
  /** The previous block's key (index into KEYPAD, NO_KEY, or UNKNOWN when it was skipped) and its start. */
  private prevKey = NO_KEY;
  private prevStart = 0;
  /** The tone being heard (-1 for none), blocks without it since, and the end of its last block. */
  private activeKey = -1;
  private absent = 0;
  private activeEnd = 0;

  constructor(codec: 'PCMU' | 'PCMA', events: InbandDtmfEvents, opts: InbandDtmfOptions = {}) {
    this.classifier = new DtmfBlockClassifier(opts);
    this.table = LINEAR[codec];
    this.events = events;
  }

  /**
   * Feeds G.711 bytes; `pos` is the sample position of bytes[offset]. A
   * position ahead of the expected one is a gap: the block being filled is
   * dropped and the gap counts as blocks without a digit, so no tone is
   * pieced together across it. Bytes behind the expected position were heard
   * already and are skipped.
   */
  push(bytes: Uint8Array, offset: number, length: number, pos: number): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length) || !Number.isSafeInteger(pos)) {
      throw new RangeError(`InbandDtmfDetector.push: bad range ${offset}+${length} of ${bytes.length} at ${pos}`);
    }
    if (this.next < 0) this.next = pos;
    else if (pos > this.next) this.gap(pos);
    else if (pos < this.next) {
      const seen = this.next - pos;
      if (seen >= length) return;
      offset += seen;
      length -= seen;
    }
    const end = offset + length;
    while (offset < end) {
      const take = Math.min(end - offset, N - this.filled);
      this.fill(bytes, offset, take);
      offset += take;
      this.next += take;
      if (this.filled === N) this.endBlock();
    }
  }

  /**
   * Ends an open tone (call end, pause): reports onToneEnd at `pos`, or at
   * the end of the tone's last block if that is later. A partly filled block
   * is dropped, and the next tone needs two fresh blocks.
   */
  flush(pos: number): void {
    const key = this.activeKey;
    const end = Math.max(pos, this.activeEnd);
    this.filled = 0;
    this.energy = 0;
    this.prevKey = NO_KEY;
    this.activeKey = -1;
    this.absent = 0;
    if (this.next >= 0 && pos > this.next) this.next = pos;
    if (key >= 0) this.events.onToneEnd(KEYPAD[key] as string, end);
  }

  private fill(bytes: Uint8Array, from: number, count: number): void {
    const table = this.table;
    const block = this.block;
    let at = this.filled;
    let energy = this.energy;
    for (let i = from, end = from + count; i < end; i++) {
      const x = table[bytes[i] as number] as number;
      block[at++] = x;
      energy += x * x;
    }
    this.filled = at;
    this.energy = energy;
  }

  private gap(pos: number): void {
    const missing = (this.filled > 0 ? 1 : 0) + Math.floor((pos - this.next) / N);
    this.filled = 0;
    this.energy = 0;
    this.next = pos;
    this.prevKey = NO_KEY;
    if (this.activeKey >= 0) {
      this.absent += Math.max(1, missing);
      if (this.absent >= END_BLOCKS) this.endTone();
    }
  }

  private endBlock(): void {
    const current = this.block;
    const energy = this.energy;
    const end = this.next;
    const start = end - N;
    // The block just filled is kept; the one before it is filled next.
    this.block = this.previous;
    this.previous = current;
    const previousEnergy = this.previousEnergy;
    this.previousEnergy = energy;
    this.filled = 0;
    this.energy = 0;

    if (this.activeKey < 0 && this.prevKey === NO_KEY) {
      // No tone, and the block before held no digit, so this one cannot start
      // a tone with it. It can only start one with the next block, and then it
      // is classified there, late. So when nothing is heard, half the blocks
      // skip the filters, and the tones found are exactly the same.
      this.prevKey = UNKNOWN;
      this.prevStart = start;
      return;
    }
    const key = this.classifier.classify(current, energy);
    // `this.block` still holds the skipped block's samples: nothing has been filled into it yet.
    if (this.activeKey < 0 && key >= 0 && this.prevKey === UNKNOWN) this.prevKey = this.classifier.classify(this.block, previousEnergy);

    if (this.activeKey >= 0) {
      if (key === this.activeKey) {
        this.absent = 0;
        this.activeEnd = end;
      } else if (++this.absent >= END_BLOCKS) {
        this.endTone();
      }
    }
    const confirmed = key === this.prevKey;
    const prevStart = this.prevStart;
    this.prevKey = key;
    this.prevStart = start;
    if (this.activeKey < 0 && key >= 0 && confirmed) {
      this.activeKey = key;
      this.absent = 0;
      this.activeEnd = end;
      this.events.onToneStart(KEYPAD[key] as string, prevStart);
    }
  }

  private endTone(): void {
    const key = this.activeKey;
    this.activeKey = -1;
    this.absent = 0;
    this.events.onToneEnd(KEYPAD[key] as string, this.activeEnd);
  }
}
