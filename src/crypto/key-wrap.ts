/**
 * The three ways a recording's data key is wrapped under a key-encryption key.
 * Each returns null when unwrapping fails, so the caller decides what that
 * means (a wrong key for a reader, tampering once the key id matched).
 */
import {
  constants,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { CryptoError } from './errors.js';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, gcmOpen, gcmSeal } from './gcm.js';

export const DATA_KEY_BYTES = 32;
const X25519_BYTES = 32;

/** ephemeral public key + nonce + wrapped data key + tag */
export const X25519_WRAPPED_BYTES = X25519_BYTES + GCM_NONCE_BYTES + DATA_KEY_BYTES + GCM_TAG_BYTES;
/** nonce + wrapped data key + tag */
export const A256GCM_WRAPPED_BYTES = GCM_NONCE_BYTES + DATA_KEY_BYTES + GCM_TAG_BYTES;
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 8192;

const X25519_INFO = Buffer.from('recgw recording v1 x25519-hkdf-sha256-a256gcm', 'ascii');
const A256GCM_AAD = Buffer.from('recgw recording v1 a256gcm', 'ascii');

/** RFC 8410: the DER SubjectPublicKeyInfo of an X25519 key is this prefix, then the key's 32 bytes. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * The 32 bytes of an X25519 public key, cut from its DER. Not through
 * export({ format: 'jwk' }): Node 20 builds the JWK while holding the key's
 * lock, and a garbage collection there that frees the job which generated the
 * key takes the same lock, so the process hangs for good. A wrap reads a
 * freshly generated key this way once per segment; under load it hung the
 * gateway (test/crypto/key-wrap.test.ts).
 */
export function rawX25519(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  if (der.length !== X25519_SPKI_PREFIX.length + X25519_BYTES || !der.subarray(0, X25519_SPKI_PREFIX.length).equals(X25519_SPKI_PREFIX)) {
    throw new CryptoError('KEY_INVALID', 'not an X25519 public key');
  }
  return der.subarray(X25519_SPKI_PREFIX.length);
}

function x25519Kek(shared: Buffer, ephemeral: Buffer, recipient: Buffer): Buffer {
  // The info names the format and binds the recipient, so a wrap made for one
  // key never unwraps under a key derived for another.
  return Buffer.from(hkdfSync('sha256', shared, ephemeral, Buffer.concat([X25519_INFO, recipient]), 32));
}

export function x25519Wrap(recipient: KeyObject, dataKey: Buffer): Buffer {
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = rawX25519(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const kek = x25519Kek(shared, ephemeralRaw, rawX25519(recipient));
  shared.fill(0);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const sealed = gcmSeal(kek, nonce, dataKey, Buffer.alloc(0));
  kek.fill(0);
  return Buffer.concat([ephemeralRaw, nonce, sealed]);
}

export function x25519Unwrap(privateKey: KeyObject, recipientRaw: Buffer, wrapped: Buffer): Buffer | null {
  if (wrapped.length !== X25519_WRAPPED_BYTES) return null;
  const ephemeralRaw = wrapped.subarray(0, X25519_BYTES);
  let shared: Buffer;
  try {
    const ephemeral = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, ephemeralRaw]), format: 'der', type: 'spki' });
    // OpenSSL refuses an all-zero shared secret (a low-order ephemeral point): that throws here.
    shared = diffieHellman({ privateKey, publicKey: ephemeral });
  } catch {
    return null;
  }
  const kek = x25519Kek(shared, ephemeralRaw, recipientRaw);
  shared.fill(0);
  const nonce = wrapped.subarray(X25519_BYTES, X25519_BYTES + GCM_NONCE_BYTES);
  const dataKey = gcmOpen(kek, nonce, wrapped.subarray(X25519_BYTES + GCM_NONCE_BYTES), Buffer.alloc(0));
  kek.fill(0);
  return dataKey?.length === DATA_KEY_BYTES ? dataKey : null;
}

export function rsaWrap(recipient: KeyObject, dataKey: Buffer): Buffer {
  return publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, dataKey);
}

export function rsaUnwrap(privateKey: KeyObject, wrapped: Buffer): Buffer | null {
  try {
    const dataKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
    return dataKey.length === DATA_KEY_BYTES ? dataKey : null;
  } catch {
    return null;
  }
}

export function a256gcmWrap(key: KeyObject, dataKey: Buffer): Buffer {
  // A random nonce is safe here: one wrap per recording, far below the 2^32
  // messages a random 96-bit nonce allows under one key.
  const nonce = randomBytes(GCM_NONCE_BYTES);
  return Buffer.concat([nonce, gcmSeal(key, nonce, dataKey, A256GCM_AAD)]);
}

export function a256gcmUnwrap(key: KeyObject, wrapped: Buffer): Buffer | null {
  if (wrapped.length !== A256GCM_WRAPPED_BYTES) return null;
  const dataKey = gcmOpen(key, wrapped.subarray(0, GCM_NONCE_BYTES), wrapped.subarray(GCM_NONCE_BYTES), A256GCM_AAD);
  return dataKey?.length === DATA_KEY_BYTES ? dataKey : null;
}
