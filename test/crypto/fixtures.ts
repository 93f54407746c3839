/**
 * Real keys of every kind, made once per test file in a temporary directory,
 * and a recording sealed from known audio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingSealer, type SealerFields } from '../../src/crypto/format.js';
import {
  generateKeyPair,
  generateSymmetricKey,
  loadDecryptionKey,
  loadEncryptionKey,
  type KeyDecryptionKey,
  type KeyEncryptionKey,
  type WrapAlgorithm,
} from '../../src/crypto/keys.js';

export interface KeyCase {
  readonly algorithm: WrapAlgorithm;
  readonly kek: KeyEncryptionKey;
  readonly kdk: KeyDecryptionKey;
  /** Another key of the same kind. */
  readonly otherKdk: KeyDecryptionKey;
}

export interface KeyFixture {
  readonly dir: string;
  readonly cases: readonly KeyCase[];
  cleanup(): void;
}

export function makeKeys(): KeyFixture {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-crypto-'));
  const pair = (type: 'x25519' | 'rsa', sub: string): { kek: KeyEncryptionKey; kdk: KeyDecryptionKey } => {
    const files = generateKeyPair(join(dir, sub), { type });
    return { kek: loadEncryptionKey({ publicKey: files.publicKeyFile }), kdk: loadDecryptionKey(files.privateKeyFile) };
  };
  const sym = (name: string): { kek: KeyEncryptionKey; kdk: KeyDecryptionKey } => {
    const { keyFile } = generateSymmetricKey(join(dir, name));
    return { kek: loadEncryptionKey({ keyFile }), kdk: loadDecryptionKey(keyFile) };
  };
  const x = pair('x25519', 'x1');
  const rsa = pair('rsa', 'r1');
  const s = sym('s1.key');
  const cases: KeyCase[] = [
    { algorithm: 'x25519-hkdf-sha256-a256gcm', ...x, otherKdk: pair('x25519', 'x2').kdk },
    { algorithm: 'rsa-oaep-sha256', ...rsa, otherKdk: pair('rsa', 'r2').kdk },
    { algorithm: 'a256gcm', ...s, otherKdk: sym('s2.key').kdk },
  ];
  return { dir, cases, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const FIELDS: SealerFields = {
  kind: 'audio',
  codec: 'PCMA',
  sampleRate: 8000,
  leg: 'caller',
  callId: 'a84b4c76e66710@pc33.example.com',
  segment: 1,
  startedAt: '2024-05-01T09:30:00.000Z',
};

/** Audio the size of `seconds` one-second chunks, each chunk distinct, with a phrase a leak would show. */
export function knownAudio(seconds: number): Buffer[] {
  const phrase = Buffer.from('my card number is 4111 1111 1111 1111, expiry 12/29 ', 'ascii');
  return Array.from({ length: seconds }, (_, i) => {
    const chunk = Buffer.alloc(8000);
    for (let k = 0; k < chunk.length; k += phrase.length) phrase.copy(chunk, k);
    chunk.writeUInt32BE(i, 0);
    return chunk;
  });
}

export interface Sealed {
  readonly file: Buffer;
  readonly headerLength: number;
  /** Byte offset of each record in `file`. */
  readonly offsets: readonly number[];
  readonly plain: readonly Buffer[];
}

/** A complete recording: one record per chunk, the last one final. */
export function sealRecording(kek: KeyEncryptionKey, plain: readonly Buffer[], opts?: { final?: boolean }): Sealed {
  const sealer = new RecordingSealer(FIELDS, kek);
  const parts = [sealer.headerBytes];
  const offsets: number[] = [];
  let at = sealer.headerBytes.length;
  plain.forEach((p, i) => {
    const rec = sealer.seal(p, opts?.final !== false && i === plain.length - 1);
    offsets.push(at);
    at += rec.length;
    parts.push(rec);
  });
  return { file: Buffer.concat(parts), headerLength: sealer.headerBytes.length, offsets, plain };
}
