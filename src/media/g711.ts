/**
 * G.711 µ-law (PCMU) and A-law (PCMA). Both directions are table lookups:
 * export and in-band DTMF detection decode every sample of a recording, and
 * announcements are encoded once at start-up.
 */

/** The code of zero signal: what a lost packet or a hold period becomes in a recording. */
export const PCMU_SILENCE = 0xff;
export const PCMA_SILENCE = 0xd5;

const ULAW_BIAS = 0x84;

/** Decoding per ITU-T G.711 (the classic segment algorithm), one table per law. */
const ULAW_TABLE = new Int16Array(256);
const ALAW_TABLE = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  ULAW_TABLE[code] = u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;

  const a = code ^ 0x55;
  let m = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) m += 8;
  else if (seg === 1) m += 0x108;
  else m = (m + 0x108) << (seg - 1);
  ALAW_TABLE[code] = a & 0x80 ? m : -m;
}

/**
 * Encoding maps a sample to the code whose decoded level is nearest (the
 * decision thresholds sit halfway between levels), on 14-bit resolution, the
 * way ffmpeg's encoders do: the truncating reference algorithm differs from
 * it by one code at some thresholds, and announcements should sound the same
 * whichever of the two made them.
 */
function encodeTable(decode: Int16Array, mask: number): Uint8Array {
  const table = new Uint8Array(16384);
  table[8192] = mask;
  let j = 1;
  for (let i = 0; i < 127; i++) {
    const threshold = ((decode[i ^ mask] as number) + (decode[(i + 1) ^ mask] as number) + 4) >> 3;
    for (; j < threshold; j++) {
      table[8192 - j] = i ^ mask ^ 0x80;
      table[8192 + j] = i ^ mask;
    }
  }
  for (; j < 8192; j++) {
    table[8192 - j] = 127 ^ mask ^ 0x80;
    table[8192 + j] = 127 ^ mask;
  }
  table[0] = table[1] as number;
  return table;
}

const ULAW_ENCODE = encodeTable(ULAW_TABLE, 0xff);
const ALAW_ENCODE = encodeTable(ALAW_TABLE, 0xd5);

function index14(s: number): number {
  const v = Math.trunc(s);
  return ((v > 32767 ? 32767 : v < -32768 ? -32768 : v) + 32768) >> 2;
}

/** 16-bit linear sample (clamped) → µ-law code. */
export function linearToUlaw(s: number): number {
  return ULAW_ENCODE[index14(s)] as number;
}

/** 16-bit linear sample (clamped) → A-law code. */
export function linearToAlaw(s: number): number {
  return ALAW_ENCODE[index14(s)] as number;
}

/** µ-law code (0-255) → 16-bit linear sample. */
export function ulawToLinear(b: number): number {
  return ULAW_TABLE[b & 0xff] as number;
}

/** A-law code (0-255) → 16-bit linear sample. */
export function alawToLinear(b: number): number {
  return ALAW_TABLE[b & 0xff] as number;
}

/** Encodes 16-bit little-endian PCM into G.711 of the given law. */
export function encodeG711(pcm16le: Buffer, law: 'PCMU' | 'PCMA'): Buffer {
  const samples = pcm16le.length >> 1;
  const out = Buffer.allocUnsafe(samples);
  const table = law === 'PCMU' ? ULAW_ENCODE : ALAW_ENCODE;
  for (let i = 0; i < samples; i++) out[i] = table[(pcm16le.readInt16LE(i * 2) + 32768) >> 2] as number;
  return out;
}

/** Decodes G.711 of the given law into 16-bit little-endian PCM. */
export function decodeG711(g711: Buffer, law: 'PCMU' | 'PCMA'): Buffer {
  const out = Buffer.allocUnsafe(g711.length * 2);
  const table = law === 'PCMU' ? ULAW_TABLE : ALAW_TABLE;
  for (let i = 0; i < g711.length; i++) out.writeInt16LE(table[g711[i] as number] as number, i * 2);
  return out;
}
