/**
 * AES-256-GCM with a 12-byte nonce and a 16-byte tag: the one AEAD the format
 * uses, for chunks and for wrapping data keys.
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';

export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** Encrypts `plain` into `out` at `offset` (ciphertext, then tag); returns the offset after the tag. */
export function gcmSealInto(key: KeyObject | Buffer, nonce: Buffer, plain: Buffer, aad: Buffer, out: Buffer, offset: number): number {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  let at = offset;
  at += cipher.update(plain).copy(out, at);
  at += cipher.final().copy(out, at);
  at += cipher.getAuthTag().copy(out, at);
  return at;
}

export function gcmSeal(key: KeyObject | Buffer, nonce: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const out = Buffer.allocUnsafe(plain.length + GCM_TAG_BYTES);
  gcmSealInto(key, nonce, plain, aad, out, 0);
  return out;
}

/** `sealed` is ciphertext followed by the tag. null when authentication fails: the caller names what failed. */
export function gcmOpen(key: KeyObject | Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < GCM_TAG_BYTES) return null;
  const cut = sealed.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(cut));
  const head = decipher.update(sealed.subarray(0, cut));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    // Never hand back plaintext that failed authentication, not even in part.
    head.fill(0);
    return null;
  }
}
