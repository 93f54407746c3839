import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, PCMA_SILENCE, PCMU_SILENCE, ulawToLinear } from '../../src/media/g711.js';

/** Every 16-bit sample value once, as little-endian PCM. */
function everySample(): Buffer {
  const pcm = Buffer.alloc(65536 * 2);
  for (let s = -32768; s <= 32767; s++) pcm.writeInt16LE(s, (s + 32768) * 2);
  return pcm;
}

function ffmpegEncode(pcm: Buffer, format: 'mulaw' | 'alaw'): Buffer {
  const r = spawnSync(ffmpegInstaller.path, ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '8000', '-ac', '1', '-i', 'pipe:0', '-f', format, 'pipe:1'], {
    input: pcm,
    maxBuffer: 1 << 20,
  });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

test('silence codes decode to (near) zero and zero encodes to them', () => {
  assert.equal(ulawToLinear(PCMU_SILENCE), 0);
  assert.ok(Math.abs(alawToLinear(PCMA_SILENCE)) <= 8);
  assert.equal(linearToUlaw(0), PCMU_SILENCE);
  assert.equal(linearToAlaw(0), PCMA_SILENCE);
});

test('encoding matches ffmpeg\'s G.711 encoders for every 16-bit sample', () => {
  const pcm = everySample();
  assert.deepEqual(encodeG711(pcm, 'PCMU'), ffmpegEncode(pcm, 'mulaw'));
  assert.deepEqual(encodeG711(pcm, 'PCMA'), ffmpegEncode(pcm, 'alaw'));
});

test('decoding then encoding gives every code back (µ-law has two zeros)', () => {
  for (let code = 0; code < 256; code++) {
    assert.equal(linearToAlaw(alawToLinear(code)), code, `A-law ${code}`);
    if (code !== 0x7f) assert.equal(linearToUlaw(ulawToLinear(code)), code, `µ-law ${code}`);
  }
  assert.equal(ulawToLinear(0x7f), 0);
  const codes = Buffer.from([...Array(256).keys()]);
  assert.equal(decodeG711(codes, 'PCMA').readInt16LE(2 * 0x2a), alawToLinear(0x2a));
});

test('out-of-range input is clamped, not wrapped', () => {
  assert.equal(linearToUlaw(40000), linearToUlaw(32767));
  assert.equal(linearToAlaw(-40000), linearToAlaw(-32768));
  assert.ok(ulawToLinear(linearToUlaw(40000)) > 30000);
});
