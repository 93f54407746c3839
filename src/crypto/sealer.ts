/**
 * The writing side of a recording: a fresh data key per file, wrapped for the
 * key-encryption key, a header, then one sealed record per chunk. Audio is
 * encrypted before it reaches any disk, chunk by chunk, so a crash loses at
 * most the chunk being written.
 */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.js';
import { gcmSealInto } from './gcm.js';
import { FORMAT_VERSION, NONCE_PREFIX_BYTES, encodeHeaderFields, headerMac, type RecordingHeader } from './header.js';
import { DATA_KEY_BYTES } from './key-wrap.js';
import type { KeyEncryptionKey } from './keys.js';
import { FRAME_BYTES, MAX_CHUNK_BYTES, RECORD_OVERHEAD, chunkAad, chunkNonce, writeFrame } from './records.js';

export type SealerFields = Omit<RecordingHeader, 'version' | 'keyId' | 'algorithm' | 'wrappedKey' | 'noncePrefix'>;

export class RecordingSealer {
  readonly header: RecordingHeader;
  /** Write these first. */
  readonly headerBytes: Buffer;
  #key: KeyObject | null;
  readonly #headerHash: Buffer;
  /** A private copy: what a caller does to `header` never changes a nonce. */
  readonly #noncePrefix: Buffer;
  #chunks = 0;

  constructor(fields: SealerFields, kek: KeyEncryptionKey) {
    const dataKey = randomBytes(DATA_KEY_BYTES);
    try {
      this.header = Object.freeze({
        version: FORMAT_VERSION,
        kind: fields.kind,
        codec: fields.codec,
        sampleRate: fields.sampleRate,
        leg: fields.leg,
        callId: fields.callId,
        segment: fields.segment,
        startedAt: fields.startedAt,
        keyId: kek.id,
        algorithm: kek.algorithm,
        wrappedKey: kek.wrap(dataKey),
        noncePrefix: randomBytes(NONCE_PREFIX_BYTES),
      });
      const headerFields = encodeHeaderFields(this.header);
      this.headerBytes = Buffer.concat([headerFields, headerMac(dataKey, headerFields)]);
      this.#key = createSecretKey(dataKey);
    } finally {
      dataKey.fill(0);
    }
    this.#headerHash = createHash('sha256').update(this.headerBytes).digest();
    this.#noncePrefix = Buffer.from(this.header.noncePrefix);
  }

  /** Records sealed so far; the next one gets this index. */
  get chunks(): number {
    return this.#chunks;
  }

  /** True once the final chunk is sealed. */
  get finished(): boolean {
    return this.#key === null;
  }

  /**
   * The bytes of one record holding `plain` (at most 1 MiB; about one second
   * of audio is the intent, and an empty final chunk is how a segment closes
   * with nothing left to write).
   */
  seal(plain: Buffer, final: boolean): Buffer {
    const key = this.#key;
    if (key === null) throw new CryptoError('SEALED', `recording ${this.header.callId}/${this.header.leg}/${this.header.segment} already has its final chunk`);
    if (plain.length > MAX_CHUNK_BYTES) throw new RangeError(`a chunk holds at most ${MAX_CHUNK_BYTES} bytes, not ${plain.length}`);
    const index = this.#chunks;
    const out = Buffer.allocUnsafe(RECORD_OVERHEAD + plain.length);
    writeFrame(out, plain.length, final, index);
    gcmSealInto(key, chunkNonce(this.#noncePrefix, index), plain, chunkAad(this.#headerHash, out), out, FRAME_BYTES);
    this.#chunks = index + 1;
    if (final) this.#key = null;
    return out;
  }
}
