/**
 * In-band DTMF: key presses that a trunk sends as audio rather than as
 * RFC 4733 events. The recorder must never store one (card digits), so each
 * leg's audio goes through this detector, about a second behind the live
 * call, and the span of every tone found is silenced before it is written.
 *
 * The detector speaks in sample positions, never in wall time, and runs over
 * every sample of every recorded leg: one table lookup per byte for the
 * block's energy, four to eight Goertzel filters per sample of the blocks that
 * can matter (see endBlock), which read the bytes through a table of their
 * linear values; no allocation after construction, no logging.
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

/** G.711 code → linear sample as a double: the filters work in doubles, so convert once in the table. */
const LINEAR = {
  PCMU: Float64Array.from({ length: 256 }, (_, code) => ulawToLinear(code)),
  PCMA: Float64Array.from({ length: 256 }, (_, code) => alawToLinear(code)),
} as const;
/** G.711 code → the square of its linear sample, exact in a double: a block's energy without decoding it. */
const SQUARE = {
  PCMU: LINEAR.PCMU.map((x) => x * x),
  PCMA: LINEAR.PCMA.map((x) => x * x),
} as const;

/** One per leg and direction; feed it every sample of the leg, in order. */
export class InbandDtmfDetector {
  private readonly squares: Float64Array;
  private readonly events: InbandDtmfEvents;
  private readonly classifier: DtmfBlockClassifier;

  /**
   * Samples of the block being filled, and their energy. Only the energy is
   * worked out as bytes arrive; the samples are decoded at the block's end,
   * and only when the filters must run (see endBlock).
   */
  private filled = 0;
  private energy = 0;
  /** The block's first `saved` bytes, from earlier pushes: the caller may reuse its bytes once push returns. */
  private readonly head = new Uint8Array(N);
  private saved = 0;
  /** A block that came in more than one push, whole, for the classifier. */
  private readonly joined = new Uint8Array(N);
  /** The bytes and energy of the last block, when it was skipped yet loud enough to be classified late. */
  private readonly previous = new Uint8Array(N);
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
    this.classifier = new DtmfBlockClassifier(LINEAR[codec], opts);
    this.squares = SQUARE[codec];
    this.events = events;
  }

  /**
   * Feeds G.711 bytes; `pos` is the sample position of bytes[offset]. A
   * position ahead of the expected one is a gap: the block being filled is
   * dropped and the gap counts as blocks without a digit, so no tone is
   * pieced together across it. Bytes behind the expected position were heard
   * already and are skipped. The bytes are read during the call only.
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
    const squares = this.squares;
    // Where the current block's bytes start in `bytes` (its first `saved` bytes are in `head`).
    let from = offset;
    while (offset < end) {
      const take = Math.min(end - offset, N - this.filled);
      let energy = this.energy;
      for (let i = offset, stop = offset + take; i < stop; i++) energy += squares[bytes[i] as number] as number;
      this.energy = energy;
      this.filled += take;
      offset += take;
      this.next += take;
      if (this.filled === N) {
        this.endBlock(bytes, from);
        this.dropBlock();
        from = offset;
      }
    }
    const head = this.head;
    for (let i = from; i < end; i++) head[this.saved++] = bytes[i] as number;
  }

  /**
   * Ends an open tone (call end, pause): reports onToneEnd at `pos`, or at
   * the end of the tone's last block if that is later. A partly filled block
   * is dropped, and the next tone needs two fresh blocks.
   */
  flush(pos: number): void {
    const key = this.activeKey;
    const end = Math.max(pos, this.activeEnd);
    this.dropBlock();
    this.prevKey = NO_KEY;
    this.activeKey = -1;
    this.absent = 0;
    if (this.next >= 0 && pos > this.next) this.next = pos;
    if (key >= 0) this.events.onToneEnd(KEYPAD[key] as string, end);
  }

  /** The next block starts empty: after a full block, and when a gap or a flush drops a partial one. */
  private dropBlock(): void {
    this.filled = 0;
    this.energy = 0;
    this.saved = 0;
  }

  private gap(pos: number): void {
    const missing = (this.filled > 0 ? 1 : 0) + Math.floor((pos - this.next) / N);
    this.dropBlock();
    this.next = pos;
    this.prevKey = NO_KEY;
    if (this.activeKey >= 0) {
      this.absent += Math.max(1, missing);
      if (this.absent >= END_BLOCKS) this.endTone();
    }
  }

  /** The full block's bytes are head[0, saved) then bytes[from, ...). */
  private endBlock(bytes: Uint8Array, from: number): void {
    const energy = this.energy;
    const end = this.next;
    const start = end - N;
    const audible = this.classifier.mayHoldDigit(energy);

    if (this.activeKey < 0 && this.prevKey === NO_KEY) {
      // No tone, and the block before held no digit, so this one cannot start
      // a tone with it. It can only start one with the next block, and then it
      // is classified there, late. So when nothing is heard, half the blocks
      // (all of them in quiet) skip the filters, and the tones found are
      // exactly the same. A block too quiet to hold a digit is known to hold
      // none without them.
      if (audible) {
        this.copyBlock(bytes, from, this.previous);
        this.previousEnergy = energy;
      }
      this.prevKey = audible ? UNKNOWN : NO_KEY;
      this.prevStart = start;
      return;
    }
    let key = NO_KEY;
    if (audible) {
      if (this.saved === 0) {
        key = this.classifier.classify(bytes, from, energy);
      } else {
        this.copyBlock(bytes, from, this.joined);
        key = this.classifier.classify(this.joined, 0, energy);
      }
    }
    if (this.activeKey < 0 && key >= 0 && this.prevKey === UNKNOWN) this.prevKey = this.classifier.classify(this.previous, 0, this.previousEnergy);

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

  /** Copies the full block (head[0, saved), then bytes from `from`) into `into`. */
  private copyBlock(bytes: Uint8Array, from: number, into: Uint8Array): void {
    const head = this.head;
    const saved = this.saved;
    for (let i = 0; i < saved; i++) into[i] = head[i] as number;
    for (let i = saved; i < N; i++) into[i] = bytes[from + i - saved] as number;
  }

  private endTone(): void {
    const key = this.activeKey;
    this.activeKey = -1;
    this.absent = 0;
    this.events.onToneEnd(KEYPAD[key] as string, this.activeEnd);
  }
}
