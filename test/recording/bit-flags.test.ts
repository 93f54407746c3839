import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BitFlags } from '../../src/recording/bit-flags.js';
import { prng } from '../helpers/prng.js';

test('set, clear and count agree with one boolean per flag over random ranges, across word edges', () => {
  const rnd = prng(99);
  for (const size of [1, 31, 32, 33, 100, 1024, 33_600]) {
    const flags = new BitFlags(size);
    const truth = new Uint8Array(size);
    for (let k = 0; k < 400; k++) {
      const a = Math.floor(rnd() * (size + 1));
      const b = Math.floor(rnd() * (size + 1));
      const [from, to] = a <= b ? [a, b] : [b, a];
      const op = rnd();
      if (op < 0.45) {
        flags.set(from, to);
        truth.fill(1, from, to);
      } else if (op < 0.8) {
        flags.clear(from, to);
        truth.fill(0, from, to);
      }
      const want = truth.subarray(from, to).reduce((n, f) => n + f, 0);
      assert.equal(flags.count(from, to), want, `size ${size}: count of [${from}, ${to})`);
    }
    for (let i = 0; i < size; i++) assert.equal(flags.has(i), truth[i] === 1, `size ${size}: flag ${i}`);
    assert.equal(flags.count(0, size), truth.reduce((n, f) => n + f, 0), `size ${size}: all`);
  }
});

test('a whole word and the last bit of a word count right (no sign trouble in the top bit)', () => {
  const flags = new BitFlags(96);
  flags.set(32, 64);
  assert.equal(flags.count(0, 96), 32);
  flags.set(31, 32);
  assert.equal(flags.count(31, 32), 1);
  assert.ok(flags.has(31) && flags.has(63) && !flags.has(64));
  flags.clear(0, 96);
  assert.equal(flags.count(0, 96), 0);
});

test('a range outside the flags, or backwards, is refused', () => {
  const flags = new BitFlags(64);
  assert.throws(() => flags.set(0, 65), RangeError);
  assert.throws(() => flags.count(-1, 3), RangeError);
  assert.throws(() => flags.clear(5, 4), RangeError);
  assert.throws(() => new BitFlags(-1), RangeError);
  assert.equal(flags.count(64, 64), 0);
});
