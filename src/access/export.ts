/**
 * Turns stored recordings back into audio: one leg to a WAV, or a whole call
 * (each leg, and a stereo mix with the caller left and the agent right,
 * aligned on the call's clock) through ffmpeg. Every chunk is verified; a
 * tampered or truncated file is refused naming the chunk, unless the caller
 * accepts a crash-truncated one (allowIncomplete).
 */
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffmpeg from 'fluent-ffmpeg';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CryptoError } from '../crypto/errors.js';
import { openRecording, type RecordingHeader } from '../crypto/format.js';
import type { KeyDecryptionKey } from '../crypto/keys.js';
import { RecgwError } from '../errors.js';
import { decodeG711 } from '../media/g711.js';
import { callIdDays } from '../recording/call-id.js';
import { callPrefix, keySafe, RESERVED_FOLDERS } from '../recording/layout.js';
import type { Manifest, ManifestSegment } from '../recording/manifest.js';
import type { ListedObject, ObjectStore } from '../storage/store.js';
import { writeWav } from './wav.js';

const RATE = 8000;

export interface ExportedLeg {
  readonly file: string;
  readonly leg: string;
  readonly segment: number;
  readonly seconds: number;
  readonly complete: boolean;
  readonly chunks: number;
}

export interface ExportedCall {
  readonly manifest?: Manifest;
  readonly legs: readonly ExportedLeg[];
  readonly mix?: string;
  /** Gaps an auditor should see: paused windows, incomplete segments. */
  readonly notes: readonly string[];
}

/** The whole of a store object's stream. */
export async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Reads an object from the store, or a file when `source` is a path that exists. */
export async function readRecordingBytes(source: string, store?: ObjectStore): Promise<Buffer> {
  try {
    return await readFile(source);
  } catch (err) {
    if (!store || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return streamToBuffer(await store.get(source));
  }
}

function audioOf(bytes: Buffer, kdk: KeyDecryptionKey, allowIncomplete: boolean): { header: RecordingHeader; audio: Buffer; complete: boolean; chunks: number } {
  const opened = openRecording(bytes, kdk, { allowIncomplete });
  if (opened.header.kind !== 'audio' || opened.header.codec === 'none') throw new CryptoError('BAD_HEADER', 'not an audio recording (a manifest?)');
  return { header: opened.header, audio: Buffer.concat(opened.chunks), complete: opened.complete, chunks: opened.chunks.length };
}

/** Decrypts, verifies and decodes one leg's segment to a WAV; also hands back its header and PCM for the mix. */
async function writeLeg(bytes: Buffer, kdk: KeyDecryptionKey, outDir: string, allowIncomplete: boolean): Promise<{ leg: ExportedLeg; header: RecordingHeader; pcm: Buffer }> {
  const { header, audio, complete, chunks } = audioOf(bytes, kdk, allowIncomplete);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  // A file name from the recording's own header must stay inside outDir whatever the header says.
  const file = join(outDir, `${keySafe(header.callId)}-${keySafe(header.leg)}-${header.segment}.wav`);
  const pcm = decodeG711(audio, header.codec as 'PCMU' | 'PCMA');
  await writeWav(file, pcm, { rate: RATE, channels: 1 });
  return { leg: { file, leg: header.leg, segment: header.segment, seconds: audio.length / RATE, complete, chunks }, header, pcm };
}

export async function exportLeg(bytes: Buffer, kdk: KeyDecryptionKey, outDir: string, opts: { allowIncomplete?: boolean } = {}): Promise<ExportedLeg> {
  return (await writeLeg(bytes, kdk, outDir, opts.allowIncomplete ?? false)).leg;
}

export function openManifest(bytes: Buffer, kdk: KeyDecryptionKey): Manifest {
  const opened = openRecording(bytes, kdk);
  if (opened.header.kind !== 'manifest') throw new CryptoError('BAD_HEADER', 'not a manifest');
  return JSON.parse(Buffer.concat(opened.chunks).toString('utf8')) as Manifest;
}

/**
 * Every object of the call, found by its call-id folder (see recording/layout.ts).
 * The folder is the id made key-safe, so an id written in capitals finds it
 * too. A call id with its time in it (recording/call-id.ts) names the days its
 * objects can be filed under, so only those days' folders of each line are
 * listed (of the line `within` names, when it names one). An older id is
 * looked for in `within`: a line's folder, a line's day or the call's own
 * folder; without it the whole store is listed, which on a large one takes
 * minutes.
 */
export async function objectsOfCall(store: ObjectStore, callId: string, within = ''): Promise<ListedObject[]> {
  const folder = `/${keySafe(callId)}/`;
  const objects: ListedObject[] = [];
  for (const part of await placesOfCall(store, callId, within)) {
    for await (const o of store.list(part)) if (o.key.includes(folder)) objects.push(o);
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A line's folder, and nothing narrower. */
const LINE_FOLDER = /^([^/]+)\/$/;

/** The prefixes to list for a call's objects: `within` as it is when it names a day or a call's folder. */
async function placesOfCall(store: ObjectStore, callId: string, within: string): Promise<string[]> {
  const days = callIdDays(callId);
  const line = LINE_FOLDER.exec(within)?.[1];
  if (days === undefined || (within !== '' && line === undefined)) return [within];
  const lines = line !== undefined ? [line] : await lineFolders(store);
  return lines.flatMap((l) => days.map((day) => callPrefix(l, callId, day)));
}

/** The lines' folders in the store: every folder at the top but the store's own (holds, releases, audit). */
export async function lineFolders(store: ObjectStore): Promise<string[]> {
  return (await store.folders('')).filter((f) => !RESERVED_FOLDERS.includes(f));
}

function mix(callerWav: string, agentWav: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    ffmpeg()
      .setFfmpegPath(ffmpegInstaller.path)
      .input(callerWav)
      .input(agentWav)
      // Left = caller, right = agent; both files already start at the call's clock origin.
      .complexFilter(['[0:a][1:a]amerge=inputs=2[a]'])
      .outputOptions(['-map', '[a]', '-ac', '2'])
      .on('error', (err: Error) => reject(err))
      .on('end', () => resolve())
      .save(out);
  });
}

/**
 * Audio missing between a leg's consecutive segments (one cut short, the next
 * starting later on the call's clock), as the auditor reads it. Gaps under
 * 0.1 s are the last chunk a crash or a failed disk took, already noted.
 */
function gapsBetweenSegments(perLeg: ReadonlyMap<string, readonly { offset: number; pcm: Buffer; segment: number }[]>): string[] {
  const notes: string[] = [];
  for (const [leg, parts] of perLeg) {
    const sorted = [...parts].sort((a, b) => a.segment - b.segment);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      const next = sorted[i];
      if (!prev || !next) continue;
      const missing = next.offset - (prev.offset + prev.pcm.length / 2);
      if (missing >= RATE / 10) notes.push(`${leg}: ${(missing / RATE).toFixed(2)} s missing before segment ${next.segment}`);
    }
  }
  return notes;
}

/**
 * The segments the manifest lists that `keys` (what a listing found of the
 * call) lacks, looked up one by one: `found` are in the store after all (a
 * call recorded before every segment was filed under the call's own day,
 * that ran past midnight, has its later segments in the next day's folder);
 * `absent` are not (not uploaded yet, or lost). An opted-out caller's
 * discarded audio was deleted on purpose, so it is neither.
 */
export async function unlistedSegments(store: ObjectStore, manifest: Manifest, listed: (key: string) => boolean): Promise<{ found: string[]; absent: ManifestSegment[] }> {
  const found: string[] = [];
  const absent: ManifestSegment[] = [];
  for (const s of manifest.segments) {
    if (s.discarded === true || listed(s.key)) continue;
    if (await store.head(s.key)) found.push(s.key);
    else absent.push(s);
  }
  return { found, absent };
}

/** How a segment the store does not hold is named to an auditor. */
export function absentSegmentNote(s: ManifestSegment): string {
  return `${s.leg} segment ${s.segment} is not in the store${s.failure !== undefined ? ` (${s.failure})` : ''}: ${s.key}`;
}

/**
 * Adds to `keys` the segments the manifest lists that are stored elsewhere,
 * and refuses the ones the store does not hold by name, or with
 * `allowIncomplete` notes them: an export never leaves part of a call out in
 * silence.
 */
async function withListedSegments(store: ObjectStore, manifest: Manifest, keys: string[], allowIncomplete: boolean): Promise<string[]> {
  const known = new Set(keys);
  const { found, absent } = await unlistedSegments(store, manifest, (key) => known.has(key));
  keys.push(...found);
  keys.sort();
  if (absent.length === 0) return [];
  if (!allowIncomplete) {
    const named = absent.map((s) => `${s.leg} segment ${s.segment} (${s.key})`).join(', ');
    throw new RecgwError('SEGMENT_MISSING', `the store does not hold ${named}, which the call's manifest lists (not uploaded yet, or lost); --allow-incomplete exports the rest`);
  }
  return absent.map(absentSegmentNote);
}

export async function exportCall(
  store: ObjectStore,
  callId: string,
  kdk: KeyDecryptionKey,
  outDir: string,
  opts: { allowIncomplete?: boolean; format?: 'wav' | 'mp3'; within?: string } = {},
): Promise<ExportedCall> {
  const keys = (await objectsOfCall(store, callId, opts.within)).map((o) => o.key);
  if (keys.length === 0) throw new Error(`no recording of call ${callId} in ${store.location}`);
  const notes: string[] = [];
  const manifestKey = keys.find((k) => k.endsWith('/manifest.rec')) ?? keys.find((k) => k.endsWith('/manifest-start.rec'));
  const manifest = manifestKey ? openManifest(await streamToBuffer(await store.get(manifestKey)), kdk) : undefined;
  if (!manifest) notes.push('no manifest found');
  else if (manifest.stage !== 'final') notes.push('the call has no final manifest: it did not end normally (gateway stopped or crashed)');
  if (manifest) notes.push(...(await withListedSegments(store, manifest, keys, opts.allowIncomplete ?? false)));
  for (const w of manifest?.pausedWindows ?? []) notes.push(`paused ${w.start} to ${w.end ?? 'end'} (${w.trigger}, by ${w.by})`);
  for (const t of manifest?.transfers ?? []) {
    notes.push(`transfer (${t.shape}) at ${t.at} to ${t.target}${t.to !== undefined ? ` (operator ${t.to})` : ''}: capture ${t.action === 'none' ? 'already stopped' : t.action === 'stop' ? 'stopped' : t.action === 'pause' ? 'paused' : 'split'}${t.reason !== undefined ? ` (${t.reason})` : ''}`);
  }
  if (manifest?.stopped) notes.push(`capture stopped at ${manifest.stopped.at} (${manifest.stopped.trigger}, by ${manifest.stopped.by})`);
  if (manifest?.optOut) notes.push(`the caller opted out at ${manifest.optOut.at} (by ${manifest.optOut.by})${manifest.optOut.discarded ? '; what was captured was discarded' : ''}`);

  const callStart = manifest ? Date.parse(manifest.startedAt) : NaN;
  const perLeg = new Map<string, { offset: number; pcm: Buffer; segment: number }[]>();
  const legs: ExportedLeg[] = [];
  for (const key of keys.filter((k) => !/\/manifest(-start)?\.rec$/.test(k))) {
    const { leg: exported, header, pcm } = await writeLeg(await streamToBuffer(await store.get(key)), kdk, outDir, opts.allowIncomplete ?? false);
    legs.push(exported);
    if (!exported.complete) {
      const failure = manifest?.segments.find((s) => s.key === key)?.failure;
      notes.push(`${exported.leg} segment ${exported.segment} is incomplete (${failure ?? 'cut short by a crash'}): ${exported.seconds.toFixed(2)} s kept`);
    }
    const offset = Number.isFinite(callStart) ? Math.max(0, Math.round(((Date.parse(header.startedAt) - callStart) / 1000) * RATE)) : 0;
    const list = perLeg.get(header.leg) ?? [];
    list.push({ offset, pcm, segment: header.segment });
    perLeg.set(header.leg, list);
  }
  if (Number.isFinite(callStart)) notes.push(...gapsBetweenSegments(perLeg));

  let mixFile: string | undefined;
  const caller = perLeg.get('caller');
  const agent = perLeg.get('agent');
  if (caller && agent) {
    // Each leg laid on the call's timeline, so silence stands where a segment was not recording.
    const lay = (parts: { offset: number; pcm: Buffer }[]): Buffer => {
      const samples = Math.max(...parts.map((p) => p.offset + p.pcm.length / 2));
      const out = Buffer.alloc(samples * 2);
      for (const p of parts) p.pcm.copy(out, p.offset * 2);
      return out;
    };
    const callerWav = join(outDir, `${keySafe(callId)}-caller.timeline.wav`);
    const agentWav = join(outDir, `${keySafe(callId)}-agent.timeline.wav`);
    await writeWav(callerWav, lay(caller), { rate: RATE, channels: 1 });
    await writeWav(agentWav, lay(agent), { rate: RATE, channels: 1 });
    mixFile = join(outDir, `${keySafe(callId)}.${opts.format ?? 'wav'}`);
    try {
      await mix(callerWav, agentWav, mixFile);
    } finally {
      await Promise.all([rm(callerWav, { force: true }), rm(agentWav, { force: true })]);
    }
  }
  return { ...(manifest ? { manifest } : {}), legs, ...(mixFile ? { mix: mixFile } : {}), notes };
}
