/**
 * Announcement files (WAV, MP3, whatever ffmpeg reads) turned into 8 kHz mono
 * G.711 of both laws, once at start-up, so a call only picks the law its SDP
 * negotiated and plays bytes: no transcoding per call.
 *
 * ffmpeg resamples and downmixes to 16-bit PCM; the G.711 encoding is ours
 * (the same ITU-T algorithm as ffmpeg's), which saves a second ffmpeg run.
 */
import type { PassThrough } from 'node:stream';
import { join, resolve } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffmpeg from 'fluent-ffmpeg';
import { PROJECT_ROOT } from '../ops/paths.js';
import { MediaError } from './errors.js';
import { encodeG711 } from './g711.js';

export interface Announcement {
  readonly pcmu: Buffer;
  readonly pcma: Buffer;
  readonly durationMs: number;
  /** The file it was made from, as given. */
  readonly source: string;
}

/** The spoken "Calls to this line are recorded…", shipped in assets/. */
export const BUILTIN_ANNOUNCEMENT: string = join(PROJECT_ROOT, 'assets', 'announcement.wav');
/** The longer second message of the demo, shipped in assets/. */
export const BUILTIN_INFORMATION: string = join(PROJECT_ROOT, 'assets', 'information.wav');

const SAMPLE_RATE = 8000;
const TRANSCODE_TIMEOUT_S = 60;

const cache = new Map<string, Promise<Announcement>>();

/** Loads and transcodes `file`; the same path is transcoded once per process. Rejects with MediaError 'ANNOUNCEMENT_INVALID'. */
export function loadAnnouncement(file: string): Promise<Announcement> {
  const key = resolve(file);
  let p = cache.get(key);
  if (p === undefined) {
    p = transcode(file);
    cache.set(key, p);
    // A file fixed after a failure can be tried again.
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function transcode(file: string): Promise<Announcement> {
  const pcm = await decodeToPcm(file);
  const samples = pcm.length >> 1;
  if (samples === 0) throw new MediaError('ANNOUNCEMENT_INVALID', `announcement ${file}: no audio in the file`);
  return {
    pcmu: encodeG711(pcm, 'PCMU'),
    pcma: encodeG711(pcm, 'PCMA'),
    durationMs: (samples * 1000) / SAMPLE_RATE,
    source: file,
  };
}

function decodeToPcm(file: string): Promise<Buffer> {
  return new Promise((resolvePcm, reject) => {
    const chunks: Buffer[] = [];
    // Done when ffmpeg has exited cleanly and its output has been read to the end, in either order.
    let pending = 2;
    const settle = (): void => {
      if (--pending === 0) resolvePcm(Buffer.concat(chunks));
    };
    const command = ffmpeg(file, { timeout: TRANSCODE_TIMEOUT_S })
      .setFfmpegPath(ffmpegInstaller.path)
      .noVideo()
      .audioChannels(1)
      .audioFrequency(SAMPLE_RATE)
      .audioCodec('pcm_s16le')
      .format('s16le')
      .on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        reject(new MediaError('ANNOUNCEMENT_INVALID', `announcement ${file}: ffmpeg cannot read it as audio (${lastLine(stderr) ?? err.message})`, { cause: err }));
      })
      .on('end', settle);
    const out = command.pipe() as PassThrough;
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    out.on('end', settle);
  });
}

function lastLine(text: string | null): string | undefined {
  const lines = (text ?? '').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.at(-1);
}
