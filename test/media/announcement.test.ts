import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { BUILTIN_ANNOUNCEMENT, BUILTIN_INFORMATION, loadAnnouncement } from '../../src/media/announcement.js';
import { MediaError } from '../../src/media/errors.js';
import { alawToLinear, ulawToLinear } from '../../src/media/g711.js';
import { writeToneWav } from '../helpers/wav.js';

function scratch(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-announcement-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function decode(g711: Buffer, law: 'PCMU' | 'PCMA'): Int16Array {
  const out = new Int16Array(g711.length);
  const f = law === 'PCMU' ? ulawToLinear : alawToLinear;
  for (let i = 0; i < g711.length; i++) out[i] = f(g711[i] as number);
  return out;
}

function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (samples[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/** Sign changes per second: twice the frequency of a pure tone. */
function crossingsPerSecond(samples: Int16Array, from: number, to: number): number {
  let n = 0;
  for (let i = from + 1; i < to; i++) if (((samples[i - 1] as number) < 0) !== ((samples[i] as number) < 0)) n++;
  return (n * 8000) / (to - from);
}

test('the built-in announcements load: speech of a few seconds in both laws', async () => {
  for (const [file, minMs, maxMs] of [[BUILTIN_ANNOUNCEMENT, 3000, 4500], [BUILTIN_INFORMATION, 6000, 10000]] as const) {
    const a = await loadAnnouncement(file);
    assert.equal(a.source, file);
    assert.ok(a.durationMs >= minMs && a.durationMs <= maxMs, `${file}: ${a.durationMs} ms`);
    assert.equal(a.pcmu.length, a.durationMs * 8);
    assert.equal(a.pcma.length, a.durationMs * 8);
    // Not silence: speech at a sensible level in both laws, and the laws agree.
    const u = decode(a.pcmu, 'PCMU');
    const al = decode(a.pcma, 'PCMA');
    assert.ok(rms(u) > 1000, `µ-law level ${rms(u)}`);
    assert.ok(Math.abs(rms(u) - rms(al)) / rms(u) < 0.05, 'the two laws carry the same audio');
  }
});

test('loading a file twice transcodes it once', async () => {
  const a = await loadAnnouncement(BUILTIN_ANNOUNCEMENT);
  assert.equal(await loadAnnouncement(BUILTIN_ANNOUNCEMENT), a);
});

test('a 16 kHz tone WAV and its MP3 come out as 8 kHz G.711 that decodes back to the tone', async () => {
  using tmp = scratch();
  const wav = join(tmp.dir, 'tone.wav');
  writeToneWav(wav, { ms: 1000, hz: 440, rate: 16000, amplitude: 8000 });
  const mp3 = join(tmp.dir, 'tone.mp3');
  const enc = spawnSync(ffmpegInstaller.path, ['-hide_banner', '-loglevel', 'error', '-i', wav, '-codec:a', 'libmp3lame', '-b:a', '64k', mp3]);
  assert.equal(enc.status, 0, String(enc.stderr));

  for (const file of [wav, mp3]) {
    const a = await loadAnnouncement(file);
    // MP3 adds encoder delay and padding: allow some tens of milliseconds.
    assert.ok(Math.abs(a.durationMs - 1000) <= (file === wav ? 1 : 80), `${file}: ${a.durationMs} ms`);
    for (const law of ['PCMU', 'PCMA'] as const) {
      const samples = decode(law === 'PCMU' ? a.pcmu : a.pcma, law);
      // Judge the steady middle, away from resampler and codec edges.
      const from = 1600;
      const to = samples.length - 1600;
      const level = rms(samples, from, to);
      assert.ok(Math.abs(level - 8000 / Math.SQRT2) / (8000 / Math.SQRT2) < 0.1, `${file} ${law}: level ${level}`);
      const hz = crossingsPerSecond(samples, from, to) / 2;
      assert.ok(Math.abs(hz - 440) < 5, `${file} ${law}: ${hz} Hz`);
    }
  }
});

test('a file that is not audio, or not there, is ANNOUNCEMENT_INVALID naming the file', async () => {
  using tmp = scratch();
  const text = join(tmp.dir, 'notes.wav');
  writeFileSync(text, 'this is not a wave file\n'.repeat(20));
  const missing = join(tmp.dir, 'missing.mp3');
  const headerOnly = join(tmp.dir, 'empty.wav');
  writeToneWav(headerOnly, { ms: 0 });
  for (const file of [text, missing, headerOnly]) {
    await assert.rejects(loadAnnouncement(file), (err: unknown) => {
      assert.ok(err instanceof MediaError, String(err));
      assert.equal(err.code, 'ANNOUNCEMENT_INVALID');
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  }
  // A failure is not cached: the same path works once the file is fixed.
  writeToneWav(text, { ms: 200, rate: 8000 });
  const fixed = await loadAnnouncement(text);
  assert.equal(fixed.pcmu.length, 1600);
});
