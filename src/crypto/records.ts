/**
 * Chunk records: how each sealed chunk is framed after the header, the nonce
 * and the associated data that bind it to its file, its place and its
 * final-ness. Splitting and measuring never decrypt.
 *
 *   length u32 | flags u8 (bit 0: final) | chunk index u64 | ciphertext (length) | tag (16)
 */
import { GCM_TAG_BYTES } from './gcm.js';
import { parseHeader } from './header.js';

export const FRAME_BYTES = 4 + 1 + 8;
export const RECORD_OVERHEAD = FRAME_BYTES + GCM_TAG_BYTES;
/** Far above one second of G.711 (8000 bytes); bounds what a lying length can make a reader hold. */
export const MAX_CHUNK_BYTES = 1 << 20;
export const FLAG_FINAL = 0x01;

export interface Frame {
  readonly length: number;
  readonly final: boolean;
  /** -1 when the stored index is beyond what a number holds exactly (no real file gets there). */
  readonly index: number;
}

export function writeFrame(out: Buffer, length: number, final: boolean, index: number): void {
  out.writeUInt32BE(length, 0);
  out.writeUInt8(final ? FLAG_FINAL : 0, 4);
  out.writeBigUInt64BE(BigInt(index), 5);
}

/** The frame at the start of `rec`, or null when the bytes there cannot start a record. `rec` holds at least FRAME_BYTES. */
export function readFrame(rec: Buffer): Frame | null {
  const length = rec.readUInt32BE(0);
  const flags = rec.readUInt8(4);
  if (length > MAX_CHUNK_BYTES || (flags & ~FLAG_FINAL) !== 0) return null;
  const big = rec.readBigUInt64BE(5);
  const index = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : -1;
  return { length, final: (flags & FLAG_FINAL) !== 0, index };
}

/** 4-byte random prefix from the header + the chunk index: unique per chunk under a data key used for one file only. */
export function chunkNonce(noncePrefix: Buffer, index: number): Buffer {
  const nonce = Buffer.allocUnsafe(12);
  noncePrefix.copy(nonce, 0, 0, 4);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  return nonce;
}

/** SHA-256 of the whole header, then the record's frame (length, flags, index). */
export function chunkAad(headerHash: Buffer, frame: Buffer): Buffer {
  return Buffer.concat([headerHash, frame.subarray(0, FRAME_BYTES)]);
}

/**
 * Cuts the bytes after the header into whole records. `rest` counts the bytes
 * from the first record that is not whole to the end: a torn tail, or, when a
 * frame is not plausible (flags or length out of range), everything after it.
 */
export function splitRecords(body: Buffer): { records: Buffer[]; rest: number } {
  const records: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const left = body.length - at;
    if (left < FRAME_BYTES) break;
    const frame = readFrame(body.subarray(at));
    if (frame === null) break;
    const size = RECORD_OVERHEAD + frame.length;
    if (size > left) break;
    records.push(body.subarray(at, at + size));
    at += size;
  }
  return { records, rest: body.length - at };
}

/**
 * For crash recovery where no key is at hand: the length of the longest
 * prefix that is the header and whole records numbered 0, 1, 2, ... up to and
 * including a final record. A torn tail, or a tail a filesystem left
 * zero-filled after a crash, falls outside it. 0 when even the header is
 * incomplete; CryptoError BAD_HEADER when the file is no recording.
 */
export function recoverableLength(file: Buffer): number {
  const parsed = parseHeader(file);
  if (parsed === null) return 0;
  let length = parsed.length;
  const { records } = splitRecords(file.subarray(parsed.length));
  for (const [position, rec] of records.entries()) {
    const frame = readFrame(rec);
    if (frame === null || frame.index !== position) break;
    length += rec.length;
    if (frame.final) break;
  }
  return length;
}
