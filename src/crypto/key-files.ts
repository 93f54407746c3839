/**
 * Reading and writing key files: the PEM label that says what a file holds,
 * the symmetric key file, and exclusive writes with owner-only permissions.
 */
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CryptoError } from './errors.js';

export const SYMMETRIC_LABEL = 'RECGW RECORDING KEY';
export const SYMMETRIC_KEY_BYTES = 32;

/** What the first PEM block of a file says it is, by its label. */
export type PemKind = 'public' | 'private' | 'encrypted-private' | 'symmetric' | 'other';

export function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CryptoError('KEY_INVALID', `key file ${file}: cannot be read (${code})`, { cause: err });
  }
}

export function pemKind(text: string): PemKind | null {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (m === null) return null;
  switch (m[1]) {
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      return 'public';
    case 'PRIVATE KEY':
    case 'RSA PRIVATE KEY':
      return 'private';
    case 'ENCRYPTED PRIVATE KEY':
      return 'encrypted-private';
    case SYMMETRIC_LABEL:
      return 'symmetric';
    default:
      return 'other';
  }
}

export function encodeSymmetricKey(key: Buffer): string {
  return `-----BEGIN ${SYMMETRIC_LABEL}-----\n${key.toString('base64')}\n-----END ${SYMMETRIC_LABEL}-----\n`;
}

/** The 32 key bytes, or null when the text is not exactly one well-formed symmetric key block. */
export function decodeSymmetricKey(text: string): Buffer | null {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  if (lines.length !== 3 || lines[0] !== `-----BEGIN ${SYMMETRIC_LABEL}-----` || lines[2] !== `-----END ${SYMMETRIC_LABEL}-----`) return null;
  const b64 = lines[1] ?? '';
  const key = Buffer.from(b64, 'base64');
  // Node's base64 decoder skips what it does not understand: re-encoding proves the line was clean.
  if (key.length !== SYMMETRIC_KEY_BYTES || key.toString('base64') !== b64) {
    key.fill(0);
    return null;
  }
  return key;
}

/**
 * Creates `file` with `mode`, failing if it exists: a key generator must never
 * replace a key that recordings may already be sealed for.
 */
export function writeNewFile(file: string, contents: string, mode: number): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(file, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CryptoError('KEY_EXISTS', `key file ${file}: already exists; refusing to overwrite it`, { cause: err });
    }
    throw new CryptoError('KEY_INVALID', `key file ${file}: cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  try {
    // The umask may only take bits away; set the mode exactly so a private key is never group-readable.
    fchmodSync(fd, mode);
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
