import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CryptoError } from '../../src/crypto/errors.js';
import { RecordingSealer, openRecording, parseHeader } from '../../src/crypto/format.js';
import { FIELDS, knownAudio, makeKeys, sealRecording, type KeyFixture } from './fixtures.js';
import { prng } from '../helpers/prng.js';

let keys: KeyFixture;
before(() => {
  keys = makeKeys();
});
after(() => keys.cleanup());


function badHeader(fn: () => unknown, what: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CryptoError && e.code === 'BAD_HEADER' && what.test(e.message));
}

test('a header parses back to what was sealed, and every shorter prefix asks for more bytes', () => {
  for (const { kek } of keys.cases) {
    const sealer = new RecordingSealer(FIELDS, kek);
    const bytes = sealer.headerBytes;
    const withBody = Buffer.concat([bytes, sealer.seal(Buffer.alloc(5), true)]);
    assert.deepEqual(parseHeader(withBody), { header: sealer.header, length: bytes.length });
    for (let n = 0; n < bytes.length; n++) assert.equal(parseHeader(bytes.subarray(0, n)), null, `${kek.algorithm}: prefix of ${n}`);
  }
});

test('garbage, another format and an unknown version are BAD_HEADER as soon as the bytes show it', () => {
  badHeader(() => parseHeader(Buffer.from('RIFF')), /magic/);
  badHeader(() => parseHeader(Buffer.from('X')), /magic/);
  badHeader(() => parseHeader(Buffer.from('ID3\x03\x00')), /magic/);
  const { file } = sealRecording(keys.cases[0]?.kek ?? assert.fail(), knownAudio(1));
  const v2 = Buffer.from(file);
  v2[5] = 2;
  badHeader(() => parseHeader(v2.subarray(0, 6)), /version 2/);
  const lying = Buffer.from(file);
  lying.writeUInt16BE(3, 6); // the fields end inside the first field
  badHeader(() => parseHeader(lying), /cut short|claims/);
});

test('a field out of its bounds is named', () => {
  const { kek } = keys.cases[0] ?? assert.fail();
  const bytes = new RecordingSealer(FIELDS, kek).headerBytes;
  const swap = (from: string, to: string): Buffer => {
    const at = bytes.indexOf(from);
    assert.ok(at > 0 && from.length === to.length);
    const b = Buffer.from(bytes);
    b.write(to, at, 'latin1');
    return b;
  };
  badHeader(() => parseHeader(swap('PCMA', 'OPUS')), /codec 'OPUS'/);
  badHeader(() => parseHeader(swap('caller', 'victim')), /leg 'victim'/);
  badHeader(() => parseHeader(swap('audio', 'video')), /kind 'video'/);
  badHeader(() => parseHeader(swap('2024-05-01T09', '2024-05-01 09')), /startedAt/);
  badHeader(() => parseHeader(swap('a84b', '\xff\xfe\xfd\xfc')), /callId is not UTF-8/);
});

test('thousands of mutated headers and files only ever give null, a header, or a CryptoError', () => {
  const { kek, kdk } = keys.cases[0] ?? assert.fail();
  const { file, headerLength } = sealRecording(kek, knownAudio(2).map((c) => c.subarray(0, 64)));
  const rand = prng(0x5eed);
  const pick = (n: number): number => Math.floor(rand() * n);
  for (let round = 0; round < 3000; round++) {
    const bad = Buffer.from(file);
    const edits = 1 + pick(4);
    for (let e = 0; e < edits; e++) {
      // Most edits land in the header, where the parser does the most work.
      const i = rand() < 0.8 ? pick(headerLength) : pick(bad.length);
      bad[i] = rand() < 0.5 ? pick(256) : (bad[i] ?? 0) ^ (1 << pick(8));
    }
    const cut = rand() < 0.3 ? bad.subarray(0, pick(bad.length)) : bad;
    try {
      parseHeader(cut);
    } catch (err) {
      assert.ok(err instanceof CryptoError && err.code === 'BAD_HEADER', `round ${round}: ${String(err)}`);
    }
    let opens = true;
    try {
      openRecording(cut, kdk);
    } catch (err) {
      assert.ok(err instanceof CryptoError, `round ${round}: ${String(err)}`);
      opens = false;
    }
    // Only edits that wrote back the bytes that were there can leave a file that opens.
    if (opens) assert.ok(cut.equals(file), `round ${round}: a changed file opened`);
  }
});
