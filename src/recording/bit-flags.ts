/**
 * One flag per sample of a capture ring, packed 32 to a word: marking a
 * packet's samples, clearing a written span and counting its audio each touch
 * a few words instead of a byte per sample, and the flags of a leg take an
 * eighth of the memory, which keeps them in cache beside the ring.
 */
export class BitFlags {
  private readonly words: Uint32Array;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`BitFlags: size must be a whole number >= 0, not ${size}`);
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(i: number): boolean {
    return (((this.words[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
  }

  /** Sets the flags of [from, to). */
  set(from: number, to: number): void {
    this.mark(from, to, true);
  }

  /** Clears the flags of [from, to). */
  clear(from: number, to: number): void {
    this.mark(from, to, false);
  }

  /** How many flags of [from, to) are set. */
  count(from: number, to: number): number {
    this.check(from, to);
    if (to === from) return 0;
    const words = this.words;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    if (first === last) return popcount((words[first] as number) & span(from & 31, (to - 1) & 31));
    let n = popcount((words[first] as number) & span(from & 31, 31));
    for (let w = first + 1; w < last; w++) n += popcount(words[w] as number);
    return n + popcount((words[last] as number) & span(0, (to - 1) & 31));
  }

  /** Sets (`on`) or clears the flags of [from, to): the partial words at either end by mask, whole words between. */
  private mark(from: number, to: number, on: boolean): void {
    this.check(from, to);
    if (to === from) return;
    const words = this.words;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    if (first === last) {
      markWord(words, first, span(from & 31, (to - 1) & 31), on);
      return;
    }
    markWord(words, first, span(from & 31, 31), on);
    // A plain loop: a packet spans a handful of words, too few for a native fill call to pay.
    const whole = on ? ALL : 0;
    for (let w = first + 1; w < last; w++) words[w] = whole;
    markWord(words, last, span(0, (to - 1) & 31), on);
  }

  private check(from: number, to: number): void {
    if (!(from >= 0 && from <= to && to <= this.size)) throw new RangeError(`BitFlags: [${from}, ${to}) is not within [0, ${this.size})`);
  }
}

const ALL = 0xffffffff;

/** A word with bits lo..hi (inclusive, 0-31) set. */
function span(lo: number, hi: number): number {
  return (-1 << lo) & (-1 >>> (31 - hi));
}

/** Sets (`on`) or clears the bits of `mask` in word `w`. */
function markWord(words: Uint32Array, w: number, mask: number, on: boolean): void {
  words[w] = on ? (words[w] as number) | mask : (words[w] as number) & ~mask;
}

/** The set bits of a 32-bit word. */
function popcount(word: number): number {
  let x = word - ((word >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
