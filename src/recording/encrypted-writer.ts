/**
 * The segment writer of the gateway: each leg's audio is sealed into 0.5 s
 * AES-256-GCM chunks as it is captured and appended to a spool entry, which
 * the uploader streams to the store while the call runs. Plain audio exists
 * only in memory, one chunk at a time; nothing unencrypted reaches a disk.
 */
import type { KeyEncryptionKey } from '../crypto/keys.js';
import { RecordingSealer } from '../crypto/format.js';
import type { Logger } from '../ops/log.js';
import type { Spool, SpoolEntry } from '../storage/spool.js';
import { manifestKey, objectKey, recordingTags } from './layout.js';
import type { Manifest } from './manifest.js';
import type { SegmentInfo, SegmentSink, SegmentWriter } from './writer.js';

/**
 * Half a second of G.711 at 8 kHz per sealed chunk. What a crash can lose of
 * a leg is this, plus the capture's jitter hold-back and one flush interval:
 * under a second in all.
 */
export const CHUNK_BYTES = 4000;

export interface EncryptedWriterOptions {
  readonly spool: Spool;
  readonly kek: KeyEncryptionKey;
  readonly log: Logger;
  /** Retention in days of a line's recordings, for the tags (and Object Lock). */
  readonly retentionDays: (line: string) => number;
  readonly objectLock: boolean;
}

/** Seals a leg's audio into CHUNK_BYTES records and appends them to `entry`, the header first. */
export class EncryptedSink implements SegmentSink {
  private readonly chunk = Buffer.alloc(CHUNK_BYTES);
  private filled = 0;
  private closing?: Promise<void>;
  bytes = 0;

  constructor(
    private readonly sealer: RecordingSealer,
    private readonly entry: Pick<SpoolEntry, 'append' | 'seal' | 'failed'>,
  ) {
    entry.append(sealer.headerBytes);
  }

  get failed(): boolean {
    return this.entry.failed;
  }

  write(audio: Buffer): void {
    if (this.closing) return;
    let offset = 0;
    while (offset < audio.length) {
      const n = audio.copy(this.chunk, this.filled, offset);
      this.filled += n;
      offset += n;
      this.bytes += n;
      if (this.filled === CHUNK_BYTES) {
        this.entry.append(this.sealer.seal(this.chunk, false));
        this.filled = 0;
      }
    }
  }

  close(): Promise<void> {
    // The final chunk (possibly empty) carries the final flag: without it a reader knows the file was cut.
    this.closing ??= (async () => {
      this.entry.append(this.sealer.seal(this.chunk.subarray(0, this.filled), true));
      this.filled = 0;
      await this.entry.seal();
    })();
    return this.closing;
  }
}

export class EncryptedSegmentWriter implements SegmentWriter {
  constructor(private readonly opts: EncryptedWriterOptions) {}

  keyOf(info: SegmentInfo): string {
    return objectKey(info);
  }

  writable(): boolean {
    return this.opts.spool.fault === undefined;
  }

  /** The manifest is one sealed chunk of JSON in its own object beside the call's segments. */
  async writeManifest(manifest: Manifest): Promise<void> {
    const startedAt = new Date(manifest.startedAt);
    const sealer = new RecordingSealer(
      { kind: 'manifest', codec: 'none', sampleRate: 0, leg: 'none', callId: manifest.callId, segment: 0, startedAt: manifest.startedAt },
      this.opts.kek,
    );
    const entry = this.opts.spool.create({
      key: manifestKey(manifest.line, manifest.callId, startedAt, manifest.stage),
      kind: 'manifest',
      callId: manifest.callId,
      tags: recordingTags({ ...manifest, ...(manifest.operator !== undefined ? { operator: manifest.operator } : {}), startedAt, leg: 'manifest' }, manifest.retentionDays),
      // The record of the call is kept as long as its audio, under the same lock.
      ...(this.opts.objectLock ? { retainUntil: new Date(startedAt.getTime() + manifest.retentionDays * 86_400_000).toISOString() } : {}),
    });
    entry.append(sealer.headerBytes);
    entry.append(sealer.seal(Buffer.from(JSON.stringify(manifest)), true));
    await entry.seal();
  }

  open(info: SegmentInfo): SegmentSink {
    const retention = this.opts.retentionDays(info.line);
    const sealer = new RecordingSealer(
      { kind: 'audio', codec: info.codec, sampleRate: info.sampleRate, leg: info.leg, callId: info.callId, segment: info.segment, startedAt: info.startedAt.toISOString() },
      this.opts.kek,
    );
    const key = objectKey(info);
    const entry = this.opts.spool.create({
      key,
      kind: 'audio',
      callId: info.callId,
      tags: recordingTags(info, retention),
      ...(this.opts.objectLock ? { retainUntil: new Date(info.startedAt.getTime() + retention * 86_400_000).toISOString() } : {}),
    });
    this.opts.log.debug({ callId: info.callId, key, keyId: sealer.header.keyId }, 'segment opened');
    return new EncryptedSink(sealer, entry);
  }
}
