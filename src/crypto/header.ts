/**
 * The recording header: magic, version, then typed fields, each
 * tag-length-value, each checked against its own bounds, then a MAC under a
 * key derived from the data key. Parsing only ever throws CryptoError.
 *
 *   "RECGW" | version u8 = 1 | fields length u16 | fields | HMAC-SHA256 (32)
 *   field = tag u8 | length u16 | value; every field once, in tag order
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { CryptoError } from './errors.js';
import { A256GCM_WRAPPED_BYTES, X25519_WRAPPED_BYTES } from './key-wrap.js';
import { WRAP_ALGORITHMS, type WrapAlgorithm } from './keys.js';

export type RecordingKind = 'audio' | 'manifest';

export interface RecordingHeader {
  readonly version: 1;
  readonly kind: RecordingKind;
  readonly codec: 'PCMU' | 'PCMA' | 'none';
  readonly sampleRate: number;
  readonly leg: 'caller' | 'agent' | 'none';
  readonly callId: string;
  readonly segment: number;
  /** ISO-8601 with a zone, e.g. 2024-05-01T09:30:00.000Z */
  readonly startedAt: string;
  readonly keyId: string;
  readonly algorithm: WrapAlgorithm;
  readonly wrappedKey: Buffer;
  readonly noncePrefix: Buffer;
}

export const MAGIC = Buffer.from('RECGW', 'ascii');
export const FORMAT_VERSION = 1;
export const NONCE_PREFIX_BYTES = 4;
export const HEADER_MAC_BYTES = 32;
const FIXED_BYTES = MAGIC.length + 1 + 2;
const HEADER_MAC_INFO = Buffer.from('recgw recording v1 header', 'ascii');

const enum Tag {
  Kind = 1,
  Codec,
  SampleRate,
  Leg,
  CallId,
  Segment,
  StartedAt,
  KeyId,
  Algorithm,
  WrappedKey,
  NoncePrefix,
}

const FIELD_COUNT: number = Tag.NoncePrefix;
const KINDS = ['audio', 'manifest'] as const;
const CODECS = ['PCMU', 'PCMA', 'none'] as const;
const LEGS = ['caller', 'agent', 'none'] as const;
const MAX_CALL_ID_BYTES = 1024;
const MAX_KEY_ID_BYTES = 128;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(what: string): CryptoError {
  return new CryptoError('BAD_HEADER', `header: ${what}`);
}

function oneOf<T extends string>(list: readonly T[], value: string, field: string): T {
  const found = list.find((v) => v === value);
  if (found === undefined) throw bad(`${field} '${value.slice(0, 40)}' is not one of ${list.join(', ')}`);
  return found;
}

function wrappedKeyFits(algorithm: WrapAlgorithm, length: number): boolean {
  switch (algorithm) {
    case 'x25519-hkdf-sha256-a256gcm':
      return length === X25519_WRAPPED_BYTES;
    case 'a256gcm':
      return length === A256GCM_WRAPPED_BYTES;
    case 'rsa-oaep-sha256':
      return length >= 256 && length <= 1024; // the modulus size, 2048 to 8192 bits
  }
}

/** Every rule a header must meet, for the sealer (before encoding) and the parser (after decoding) alike. */
export function checkHeader(h: RecordingHeader): void {
  const version: number = h.version;
  if (version !== FORMAT_VERSION) throw bad(`unsupported format version ${version} (this reader knows ${FORMAT_VERSION})`);
  oneOf(KINDS, h.kind, 'kind');
  oneOf(CODECS, h.codec, 'codec');
  oneOf(LEGS, h.leg, 'leg');
  oneOf(WRAP_ALGORITHMS, h.algorithm, 'algorithm');
  if (!Number.isInteger(h.sampleRate) || h.sampleRate < 0 || h.sampleRate > 0xffffffff) throw bad('sampleRate is not a 32-bit count');
  if (!Number.isInteger(h.segment) || h.segment < 0 || h.segment > 0xffffffff) throw bad('segment is not a 32-bit count');
  if (h.kind === 'audio' && (h.codec === 'none' || h.leg === 'none' || h.sampleRate === 0)) {
    throw bad('an audio recording needs a codec, a leg and a sample rate');
  }
  const callIdBytes = Buffer.byteLength(h.callId, 'utf8');
  if (callIdBytes === 0 || callIdBytes > MAX_CALL_ID_BYTES) throw bad(`callId must be 1 to ${MAX_CALL_ID_BYTES} bytes`);
  if (!ISO_8601.test(h.startedAt) || Number.isNaN(Date.parse(h.startedAt))) throw bad('startedAt is not an ISO-8601 time with a zone');
  if (h.keyId.length > MAX_KEY_ID_BYTES || !PRINTABLE_ASCII.test(h.keyId)) throw bad(`keyId must be 1 to ${MAX_KEY_ID_BYTES} printable ASCII characters`);
  if (!wrappedKeyFits(h.algorithm, h.wrappedKey.length)) throw bad(`a wrapped key of ${h.wrappedKey.length} bytes does not fit ${h.algorithm}`);
  if (h.noncePrefix.length !== NONCE_PREFIX_BYTES) throw bad(`noncePrefix must be ${NONCE_PREFIX_BYTES} bytes`);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** The header bytes up to (not including) the MAC. */
export function encodeHeaderFields(h: RecordingHeader): Buffer {
  checkHeader(h);
  const fields: Array<[Tag, Buffer]> = [
    [Tag.Kind, Buffer.from(h.kind, 'ascii')],
    [Tag.Codec, Buffer.from(h.codec, 'ascii')],
    [Tag.SampleRate, u32(h.sampleRate)],
    [Tag.Leg, Buffer.from(h.leg, 'ascii')],
    [Tag.CallId, Buffer.from(h.callId, 'utf8')],
    [Tag.Segment, u32(h.segment)],
    [Tag.StartedAt, Buffer.from(h.startedAt, 'ascii')],
    [Tag.KeyId, Buffer.from(h.keyId, 'ascii')],
    [Tag.Algorithm, Buffer.from(h.algorithm, 'ascii')],
    [Tag.WrappedKey, h.wrappedKey],
    [Tag.NoncePrefix, h.noncePrefix],
  ];
  const parts: Buffer[] = [];
  for (const [tag, value] of fields) {
    const tl = Buffer.allocUnsafe(3);
    tl.writeUInt8(tag, 0);
    tl.writeUInt16BE(value.length, 1);
    parts.push(tl, value);
  }
  const body = Buffer.concat(parts);
  if (body.length > 0xffff) throw bad('fields exceed 65535 bytes');
  const fixed = Buffer.allocUnsafe(FIXED_BYTES);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt8(FORMAT_VERSION, MAGIC.length);
  fixed.writeUInt16BE(body.length, MAGIC.length + 1);
  return Buffer.concat([fixed, body]);
}

/** HMAC-SHA256 of the header's fields under a key derived from the data key (never the data key itself). */
export function headerMac(dataKey: Buffer, fields: Buffer): Buffer {
  const macKey = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), HEADER_MAC_INFO, 32));
  const mac = createHmac('sha256', macKey).update(fields).digest();
  macKey.fill(0);
  return mac;
}

function text(value: Buffer, field: string): string {
  if (value.length === 0) throw bad(`${field} is empty`);
  try {
    return utf8.decode(value);
  } catch {
    throw bad(`${field} is not UTF-8`);
  }
}

function count(value: Buffer, field: string): number {
  if (value.length !== 4) throw bad(`${field} must be 4 bytes, not ${value.length}`);
  return value.readUInt32BE(0);
}

function fieldsOf(body: Buffer): Buffer[] {
  const values: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 3) throw bad('a field is cut short');
    const tag = body.readUInt8(at);
    const length = body.readUInt16BE(at + 1);
    at += 3;
    if (tag !== values.length + 1) throw bad(`field tag ${tag} where tag ${values.length + 1} belongs`);
    if (length > body.length - at) throw bad(`field ${tag} claims ${length} bytes, ${body.length - at} are left`);
    values.push(body.subarray(at, at + length));
    at += length;
  }
  if (values.length !== FIELD_COUNT) throw bad(`${values.length} fields; version 1 has ${FIELD_COUNT}`);
  return values;
}

/**
 * A header at the start of `buf`: null when more bytes are needed, CryptoError
 * BAD_HEADER when the bytes cannot be a version 1 header. The MAC is not
 * checked here: that needs the data key (see openRecording).
 */
export function parseHeader(buf: Buffer): { header: RecordingHeader; length: number } | null {
  const magicSeen = Math.min(buf.length, MAGIC.length);
  if (!buf.subarray(0, magicSeen).equals(MAGIC.subarray(0, magicSeen))) throw bad('not a recgw recording (bad magic)');
  if (buf.length < MAGIC.length + 1) return null;
  const version = buf.readUInt8(MAGIC.length);
  if (version !== FORMAT_VERSION) throw bad(`unsupported format version ${version} (this reader knows ${FORMAT_VERSION})`);
  if (buf.length < FIXED_BYTES) return null;
  const fieldsLength = buf.readUInt16BE(MAGIC.length + 1);
  const length = FIXED_BYTES + fieldsLength + HEADER_MAC_BYTES;
  if (buf.length < length) return null;
  const v = fieldsOf(buf.subarray(FIXED_BYTES, FIXED_BYTES + fieldsLength));
  const at = (tag: Tag): Buffer => v[tag - 1] ?? Buffer.alloc(0); // fieldsOf guarantees every tag
  const header: RecordingHeader = Object.freeze({
    version: FORMAT_VERSION,
    kind: oneOf(KINDS, text(at(Tag.Kind), 'kind'), 'kind'),
    codec: oneOf(CODECS, text(at(Tag.Codec), 'codec'), 'codec'),
    sampleRate: count(at(Tag.SampleRate), 'sampleRate'),
    leg: oneOf(LEGS, text(at(Tag.Leg), 'leg'), 'leg'),
    callId: text(at(Tag.CallId), 'callId'),
    segment: count(at(Tag.Segment), 'segment'),
    startedAt: text(at(Tag.StartedAt), 'startedAt'),
    keyId: text(at(Tag.KeyId), 'keyId'),
    algorithm: oneOf(WRAP_ALGORITHMS, text(at(Tag.Algorithm), 'algorithm'), 'algorithm'),
    wrappedKey: Buffer.from(at(Tag.WrappedKey)),
    noncePrefix: Buffer.from(at(Tag.NoncePrefix)),
  });
  checkHeader(header);
  return { header, length };
}
