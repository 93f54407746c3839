/**
 * The reading side: unwrap the data key, authenticate the header, then every
 * chunk in order, and say which chunk is wrong and how.
 */
import { createHash, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { CryptoError, chunkError } from './errors.js';
import { gcmOpen } from './gcm.js';
import { HEADER_MAC_BYTES, headerMac, parseHeader, type RecordingHeader } from './header.js';
import type { KeyDecryptionKey } from './keys.js';
import { FRAME_BYTES, MAX_CHUNK_BYTES, RECORD_OVERHEAD, FLAG_FINAL, chunkAad, chunkNonce, readFrame, splitRecords } from './records.js';

export interface OpenedRecording {
  readonly header: RecordingHeader;
  /** The plaintext of each chunk, in order. */
  readonly chunks: Buffer[];
  /** False only with allowIncomplete, when the final chunk is missing. */
  readonly complete: boolean;
}

function unwrapDataKey(header: RecordingHeader, headerBytes: Buffer, kdk: KeyDecryptionKey): KeyObject {
  if (header.keyId !== kdk.id) {
    throw new CryptoError('WRONG_KEY', `sealed for key ${header.keyId}; this key is ${kdk.id}`);
  }
  let dataKey: Buffer;
  try {
    dataKey = kdk.unwrap(header.wrappedKey, header.algorithm, header.keyId);
  } catch (err) {
    // The id is a hash of the key, so with a matching id the fault is in the file.
    if (err instanceof CryptoError && err.code === 'WRONG_KEY') {
      throw new CryptoError('TAMPERED', 'header: the data key does not unwrap although the key id matches', { cause: err });
    }
    throw err;
  }
  try {
    const fields = headerBytes.subarray(0, headerBytes.length - HEADER_MAC_BYTES);
    const stored = headerBytes.subarray(headerBytes.length - HEADER_MAC_BYTES);
    if (!timingSafeEqual(headerMac(dataKey, fields), stored)) throw new CryptoError('TAMPERED', 'header: authentication failed');
    return createSecretKey(dataKey);
  } finally {
    dataKey.fill(0);
  }
}

/** Whether the bytes after the last whole record are the start of the next one, as a crash mid-write leaves them. */
function looksTorn(tail: Buffer, expectedIndex: number): boolean {
  const frame = Buffer.alloc(FRAME_BYTES);
  tail.copy(frame, 0, 0, FRAME_BYTES);
  if (tail.length >= 4 && frame.readUInt32BE(0) > MAX_CHUNK_BYTES) return false;
  if (tail.length >= 5 && (frame.readUInt8(4) & ~FLAG_FINAL) !== 0) return false;
  if (tail.length >= FRAME_BYTES && frame.readBigUInt64BE(5) !== BigInt(expectedIndex)) return false;
  return true;
}

/**
 * Decrypts a whole recording. Refuses, naming the chunk: a chunk that fails
 * authentication (TAMPERED), one that authenticates in another position
 * (REORDERED), bytes after the final chunk (TAMPERED), and a torn or missing
 * final chunk (TRUNCATED, or complete: false with allowIncomplete).
 */
export function openRecording(file: Buffer, kdk: KeyDecryptionKey, opts?: { allowIncomplete?: boolean }): OpenedRecording {
  const parsed = parseHeader(file);
  if (parsed === null) throw new CryptoError('TRUNCATED', 'header: the file ends inside its header');
  const { header, length } = parsed;
  const headerBytes = file.subarray(0, length);
  const key = unwrapDataKey(header, headerBytes, kdk);
  const headerHash = createHash('sha256').update(headerBytes).digest();
  const body = file.subarray(length);
  const { records, rest } = splitRecords(body);
  const total = records.length;

  const open = (rec: Buffer, index: number): Buffer | null =>
    gcmOpen(key, chunkNonce(header.noncePrefix, index), rec.subarray(FRAME_BYTES), chunkAad(headerHash, rec));

  const chunks: Buffer[] = [];
  for (const [position, rec] of records.entries()) {
    const frame = readFrame(rec);
    if (frame === null) throw chunkError('TAMPERED', position, total, 'not a chunk record'); // splitRecords admits none
    if (frame.index !== position) {
      // A record that authenticates under the index it names was moved, not altered.
      if (frame.index >= 0 && open(rec, frame.index) !== null) {
        throw chunkError('REORDERED', position, total, `holds chunk ${frame.index} (a chunk is missing or out of order)`);
      }
      throw chunkError('TAMPERED', position, total, 'authentication failed');
    }
    const plain = open(rec, position);
    if (plain === null) throw chunkError('TAMPERED', position, total, 'authentication failed');
    chunks.push(plain);
    if (frame.final) {
      if (position !== total - 1 || rest > 0) throw chunkError('TAMPERED', position + 1, total, 'data after the final chunk');
      return { header, chunks, complete: true };
    }
  }

  let missing: CryptoError;
  if (rest > 0) {
    const tail = body.subarray(body.length - rest);
    if (!looksTorn(tail, total)) throw chunkError('TAMPERED', total, total, 'not a chunk record');
    const need = tail.length >= 4 ? `${RECORD_OVERHEAD + tail.readUInt32BE(0)}` : 'more';
    missing = chunkError('TRUNCATED', total, total, `torn record: ${rest} of ${need} bytes`);
  } else {
    missing = chunkError('TRUNCATED', total, total, 'missing: the recording ends without its final chunk');
  }
  if (opts?.allowIncomplete !== true) throw missing;
  return { header, chunks, complete: false };
}
