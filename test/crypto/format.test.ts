import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CryptoError } from '../../src/crypto/errors.js';
import { RecordingSealer, openRecording, parseHeader, recoverableLength, splitRecords } from '../../src/crypto/format.js';
import { FIELDS, knownAudio, makeKeys, sealRecording, type KeyFixture } from './fixtures.js';

let keys: KeyFixture;
before(() => {
  keys = makeKeys();
});
after(() => keys.cleanup());

function codeOf(fn: () => unknown): { code: string; chunk: number | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CryptoError, `expected a CryptoError, got ${String(err)}`);
    return { code: err.code, chunk: err.chunk, message: err.message };
  }
  assert.fail('expected the recording to be refused');
}

function rejects(fn: () => unknown, code: string, chunk: number | undefined, what?: RegExp): void {
  const e = codeOf(fn);
  assert.equal(e.code, code, e.message);
  assert.equal(e.chunk, chunk, e.message);
  if (chunk !== undefined) assert.match(e.message, new RegExp(`^chunk ${chunk} of \\d+: `));
  if (what !== undefined) assert.match(e.message, what);
}

function first(): NonNullable<KeyFixture['cases'][number]> {
  const c = keys.cases[0];
  assert.ok(c);
  return c;
}

test('a recording sealed for each kind of key opens to the same audio and header', () => {
  for (const { algorithm, kek, kdk } of keys.cases) {
    assert.equal(kek.algorithm, algorithm);
    assert.equal(kek.id, kdk.id);
    const audio = knownAudio(5);
    const { file } = sealRecording(kek, audio);
    const opened = openRecording(file, kdk);
    assert.equal(opened.complete, true, algorithm);
    assert.deepEqual(opened.chunks, audio, algorithm);
    assert.deepEqual({ ...opened.header, wrappedKey: undefined, noncePrefix: undefined }, {
      ...FIELDS, version: 1, keyId: kek.id, algorithm, wrappedKey: undefined, noncePrefix: undefined,
    });
  }
});

test('a segment closed with an empty final chunk, and one with no audio at all, open complete', () => {
  const { kek, kdk } = first();
  const sealer = new RecordingSealer({ ...FIELDS, kind: 'manifest', codec: 'none', sampleRate: 0, leg: 'none' }, kek);
  const parts = [sealer.headerBytes, sealer.seal(Buffer.from('{"a":1}'), false), sealer.seal(Buffer.alloc(0), true)];
  assert.equal(sealer.chunks, 2);
  const opened = openRecording(Buffer.concat(parts), kdk);
  assert.equal(opened.header.kind, 'manifest');
  assert.deepEqual(opened.chunks, [Buffer.from('{"a":1}'), Buffer.alloc(0)]);
  const empty = new RecordingSealer(FIELDS, kek);
  assert.deepEqual(openRecording(Buffer.concat([empty.headerBytes, empty.seal(Buffer.alloc(0), true)]), kdk).chunks, [Buffer.alloc(0)]);
});

test('another private key of the same kind, or a key of another kind, is WRONG_KEY', () => {
  for (const { algorithm, kek, otherKdk } of keys.cases) {
    const { file } = sealRecording(kek, knownAudio(2));
    rejects(() => openRecording(file, otherKdk), 'WRONG_KEY', undefined, new RegExp(kek.id));
    for (const other of keys.cases.filter((c) => c.algorithm !== algorithm)) {
      rejects(() => openRecording(file, other.kdk), 'WRONG_KEY', undefined);
    }
  }
});

test('the audio appears nowhere in the sealed bytes, and the same audio seals differently each time', () => {
  for (const { algorithm, kek } of keys.cases) {
    const audio = knownAudio(4);
    const a = sealRecording(kek, audio).file;
    const b = sealRecording(kek, audio).file;
    assert.equal(a.includes('4111 1111'), false, algorithm);
    for (const chunk of audio) {
      for (let k = 0; k + 16 <= chunk.length; k += 97) assert.equal(a.indexOf(chunk.subarray(k, k + 16)), -1, `${algorithm}: audio bytes at ${k}`);
    }
    // A fresh data key and nonce prefix per file: not even the first record's ciphertext repeats.
    const at = parseHeader(a)?.length ?? 0;
    assert.equal(b.indexOf(a.subarray(at + 13, at + 45)), -1, algorithm);
  }
});

test('a flipped byte anywhere in the header is refused before any audio comes out', () => {
  for (const { algorithm, kek, kdk } of keys.cases) {
    const { file, headerLength } = sealRecording(kek, knownAudio(2));
    const keyIdAt = file.indexOf(kek.id);
    // RSA unwraps are slow: every byte for the fast kinds, a sample for RSA.
    const step = algorithm === 'rsa-oaep-sha256' ? 5 : 1;
    for (let i = 0; i < headerLength; i += step) {
      const bad = Buffer.from(file);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const e = codeOf(() => openRecording(bad, kdk));
      const allowed = i >= keyIdAt && i < keyIdAt + kek.id.length ? ['WRONG_KEY', 'BAD_HEADER'] : ['BAD_HEADER', 'TAMPERED'];
      assert.ok(allowed.includes(e.code), `${algorithm}, header byte ${i}: ${e.code} ${e.message}`);
      assert.equal(e.chunk, undefined, `${algorithm}, header byte ${i}: ${e.message}`);
    }
  }
});

test('a flipped byte in a chunk\'s ciphertext or tag is TAMPERED naming that chunk', () => {
  const { kek, kdk } = first();
  const { file, offsets } = sealRecording(kek, knownAudio(5));
  offsets.forEach((at, chunk) => {
    const end = offsets[chunk + 1] ?? file.length;
    // In the ciphertext, then the last and the first byte of the tag.
    for (const i of [at + 13 + 4000, end - 1, end - 16]) {
      const bad = Buffer.from(file);
      bad[i] = (bad[i] ?? 0) ^ 0x80;
      rejects(() => openRecording(bad, kdk), 'TAMPERED', chunk, /authentication failed/);
    }
  });
});

test('every single flipped byte after the header is refused, naming the chunk that holds it', () => {
  const { kek, kdk } = first();
  const { file, headerLength, offsets, plain } = sealRecording(kek, knownAudio(3).map((c) => c.subarray(0, 40)));
  for (let i = headerLength; i < file.length; i++) {
    const chunk = offsets.findLastIndex((o) => o <= i);
    for (const mask of [0x01, 0x80]) {
      const bad = Buffer.from(file);
      bad[i] = (bad[i] ?? 0) ^ mask;
      const e = codeOf(() => openRecording(bad, kdk));
      // A flipped length can make the record run past the end of the file: that reads as a torn record.
      assert.ok(e.code === 'TAMPERED' || (e.code === 'TRUNCATED' && i - (offsets[chunk] ?? 0) < 4), `byte ${i} ^${mask}: ${e.message}`);
      assert.equal(e.chunk, chunk, `byte ${i} ^${mask}: ${e.message}`);
      // Even when a reader takes what it can, nothing altered and nothing after the damage comes out.
      try {
        const partial = openRecording(bad, kdk, { allowIncomplete: true });
        assert.equal(partial.complete, false);
        assert.deepEqual(partial.chunks, plain.slice(0, chunk), `byte ${i} ^${mask}`);
      } catch (err) {
        assert.ok(err instanceof CryptoError);
      }
    }
  }
});

test('a dropped, swapped, repeated or foreign chunk is refused at the first position it breaks', () => {
  const { kek, kdk } = first();
  const { file, headerLength, offsets } = sealRecording(kek, knownAudio(5));
  const rec = (i: number): Buffer => file.subarray(offsets[i], offsets[i + 1] ?? file.length);
  const build = (order: Array<number | Buffer>): Buffer =>
    Buffer.concat([file.subarray(0, headerLength), ...order.map((i) => (typeof i === 'number' ? rec(i) : i))]);

  rejects(() => openRecording(build([0, 1, 3, 4]), kdk), 'REORDERED', 2, /holds chunk 3/);
  rejects(() => openRecording(build([0, 3, 2, 1, 4]), kdk), 'REORDERED', 1, /holds chunk 3/);
  rejects(() => openRecording(build([0, 1, 1, 2, 3, 4]), kdk), 'REORDERED', 2, /holds chunk 1/);
  rejects(() => openRecording(build([0, 1, 2, 4]), kdk), 'REORDERED', 3, /holds chunk 4/);
  // Chunk 2 of another recording sealed for the same key, in the same place: a different data key.
  const other = sealRecording(kek, knownAudio(5));
  const foreign = other.file.subarray(other.offsets[2], other.offsets[3]);
  rejects(() => openRecording(build([0, 1, foreign, 3, 4]), kdk), 'TAMPERED', 2, /authentication failed/);
  // Dropping the final chunk is indistinguishable from a crash before it was written.
  rejects(() => openRecording(build([0, 1, 2, 3]), kdk), 'TRUNCATED', 4, /missing/);
});

test('a torn tail or a missing final chunk is TRUNCATED, and readable up to there with allowIncomplete', () => {
  const { kek, kdk } = first();
  const { file, headerLength, offsets, plain } = sealRecording(kek, knownAudio(5));
  const last = offsets[4] ?? 0;
  for (const cut of [last + 1, last + 5, last + 13, last + 100, file.length - 1]) {
    const torn = file.subarray(0, cut);
    rejects(() => openRecording(torn, kdk), 'TRUNCATED', 4, /torn record/);
    const opened = openRecording(torn, kdk, { allowIncomplete: true });
    assert.equal(opened.complete, false);
    assert.deepEqual(opened.chunks, plain.slice(0, 4));
  }
  const notFinal = sealRecording(kek, plain, { final: false }).file;
  rejects(() => openRecording(notFinal, kdk), 'TRUNCATED', 5, /missing/);
  assert.deepEqual(openRecording(notFinal, kdk, { allowIncomplete: true }).chunks, plain);
  const headerOnly = file.subarray(0, headerLength);
  rejects(() => openRecording(headerOnly, kdk), 'TRUNCATED', 0, /missing/);
  assert.deepEqual(openRecording(headerOnly, kdk, { allowIncomplete: true }), { header: parseHeader(file)?.header, chunks: [], complete: false });
  rejects(() => openRecording(file.subarray(0, headerLength - 1), kdk), 'TRUNCATED', undefined, /header/);
});

test('bytes after the final chunk are TAMPERED, even with allowIncomplete', () => {
  const { kek, kdk } = first();
  const { file } = sealRecording(kek, knownAudio(3));
  rejects(() => openRecording(Buffer.concat([file, Buffer.from([0])]), kdk, { allowIncomplete: true }), 'TAMPERED', 3, /after the final chunk/);
  const again = sealRecording(kek, knownAudio(1));
  const extra = again.file.subarray(again.headerLength);
  rejects(() => openRecording(Buffer.concat([file, extra]), kdk), 'TAMPERED', 3, /after the final chunk/);
});

test('recoverableLength keeps exactly the header and the whole records, whatever the cut', () => {
  const { kek, kdk } = first();
  const { file, headerLength, offsets } = sealRecording(kek, knownAudio(3).map((c) => c.subarray(0, 50)));
  const bounds = [headerLength, ...offsets.slice(1), file.length];
  for (let n = 0; n <= file.length; n++) {
    const expected = n < headerLength ? 0 : Math.max(...bounds.filter((b) => b <= n));
    assert.equal(recoverableLength(file.subarray(0, n)), expected, `cut at ${n}`);
  }
  // What it keeps opens cleanly as an incomplete recording.
  const kept = file.subarray(0, recoverableLength(file.subarray(0, file.length - 3)));
  assert.equal(openRecording(kept, kdk, { allowIncomplete: true }).chunks.length, 2);
  // A crash can leave a zero-filled tail where the filesystem had extended the file.
  const zeroed = Buffer.concat([file.subarray(0, offsets[2]), Buffer.alloc(300)]);
  assert.equal(recoverableLength(zeroed), offsets[2]);
  rejects(() => openRecording(zeroed, kdk, { allowIncomplete: true }), 'TAMPERED', 2);
  // Zeros right after the header look like an empty record 0 to a reader without the key; one with it refuses them.
  const zeroedAtStart = Buffer.concat([file.subarray(0, headerLength), Buffer.alloc(100)]);
  assert.equal(recoverableLength(zeroedAtStart), headerLength + 29);
  rejects(() => openRecording(zeroedAtStart, kdk, { allowIncomplete: true }), 'TAMPERED', 0);
  // Bytes after the final record are not part of the recording.
  assert.equal(recoverableLength(Buffer.concat([file, file.subarray(offsets[0], offsets[1])])), file.length);
  rejects(() => recoverableLength(Buffer.from('RIFF....WAVEfmt ')), 'BAD_HEADER', undefined);
});

test('splitRecords returns the whole records and counts the torn rest', () => {
  const { kek } = first();
  const { file, headerLength, offsets } = sealRecording(kek, knownAudio(3));
  const body = file.subarray(headerLength);
  const whole = splitRecords(body);
  assert.equal(whole.records.length, 3);
  assert.equal(whole.rest, 0);
  assert.deepEqual(whole.records[1], file.subarray(offsets[1], offsets[2]));
  const torn = splitRecords(body.subarray(0, body.length - 7));
  assert.equal(torn.records.length, 2);
  assert.equal(torn.rest, file.length - (offsets[2] ?? 0) - 7);
  assert.deepEqual(splitRecords(Buffer.alloc(0)), { records: [], rest: 0 });
});

test('the sealer refuses a chunk after the final one, an oversized chunk and fields it cannot encode', () => {
  const { kek } = first();
  const sealer = new RecordingSealer(FIELDS, kek);
  assert.throws(() => sealer.seal(Buffer.alloc((1 << 20) + 1), false), RangeError);
  sealer.seal(Buffer.alloc(10), true);
  assert.equal(sealer.finished, true);
  rejects(() => sealer.seal(Buffer.alloc(10), false), 'SEALED', undefined);
  rejects(() => new RecordingSealer({ ...FIELDS, callId: '' }, kek), 'BAD_HEADER', undefined, /callId/);
  rejects(() => new RecordingSealer({ ...FIELDS, startedAt: 'yesterday' }, kek), 'BAD_HEADER', undefined, /startedAt/);
  rejects(() => new RecordingSealer({ ...FIELDS, segment: -1 }, kek), 'BAD_HEADER', undefined, /segment/);
  rejects(() => new RecordingSealer({ ...FIELDS, codec: 'none' }, kek), 'BAD_HEADER', undefined, /codec/);
});

test('throughput of sealing and opening one hour of one leg', (t) => {
  const audio = knownAudio(1)[0] ?? Buffer.alloc(8000);
  const seconds = 3600;
  for (const { algorithm, kek, kdk } of keys.cases) {
    const started = process.hrtime.bigint();
    const sealer = new RecordingSealer(FIELDS, kek);
    const parts = [sealer.headerBytes];
    for (let s = 0; s < seconds; s++) parts.push(sealer.seal(audio, s === seconds - 1));
    const sealedAt = process.hrtime.bigint();
    const file = Buffer.concat(parts);
    const openStarted = process.hrtime.bigint();
    const opened = openRecording(file, kdk);
    const openedAt = process.hrtime.bigint();
    assert.equal(opened.chunks.length, seconds);
    const ms = (a: bigint, b: bigint): number => Number(b - a) / 1e6;
    const mbps = (m: number): string => (audio.length * seconds / 1e6 / (m / 1000)).toFixed(0);
    const sealMs = ms(started, sealedAt);
    const openMs = ms(openStarted, openedAt);
    t.diagnostic(
      `${algorithm}: 1 h of one leg (${(file.length / 1e6).toFixed(1)} MB, overhead ${((file.length / (audio.length * seconds) - 1) * 100).toFixed(2)}%) ` +
        `sealed in ${sealMs.toFixed(0)} ms (${mbps(sealMs)} MB/s, ${(seconds * 1000 / sealMs).toFixed(0)}x real time), opened in ${openMs.toFixed(0)} ms (${mbps(openMs)} MB/s)`,
    );
    // What opening a segment costs the event loop (a fresh data key, wrapped), and a reader's unwrap.
    const rounds = 50;
    const a = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) void new RecordingSealer(FIELDS, kek).headerBytes;
    const b = process.hrtime.bigint();
    const header = Buffer.concat([new RecordingSealer(FIELDS, kek).headerBytes]);
    for (let r = 0; r < rounds; r++) openRecording(header, kdk, { allowIncomplete: true });
    const c = process.hrtime.bigint();
    t.diagnostic(`${algorithm}: new segment ${(ms(a, b) / rounds).toFixed(3)} ms, header unwrap + verify ${(ms(b, c) / rounds).toFixed(3)} ms`);
  }
});
