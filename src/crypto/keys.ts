/**
 * Key-encryption keys. The gateway holds only what wraps each recording's
 * data key: with an X25519 or RSA public key it cannot open what it stored;
 * a symmetric key file is the simpler, weaker choice. Key ids are hashes, so
 * a file names the key it needs without revealing it.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CryptoError } from './errors.js';
import { decodeSymmetricKey, encodeSymmetricKey, pemKind, readKeyFile, writeNewFile } from './key-files.js';
import { RSA_MAX_BITS, RSA_MIN_BITS, a256gcmUnwrap, a256gcmWrap, rawX25519, rsaUnwrap, rsaWrap, x25519Unwrap, x25519Wrap } from './key-wrap.js';

export type WrapAlgorithm = 'x25519-hkdf-sha256-a256gcm' | 'rsa-oaep-sha256' | 'a256gcm';

export const WRAP_ALGORITHMS: readonly WrapAlgorithm[] = ['x25519-hkdf-sha256-a256gcm', 'rsa-oaep-sha256', 'a256gcm'];

export interface KeyEncryptionKey {
  readonly id: string;
  readonly algorithm: WrapAlgorithm;
  wrap(dataKey: Buffer): Buffer;
}

export interface KeyDecryptionKey {
  readonly id: string;
  readonly algorithm: WrapAlgorithm;
  /** CryptoError WRONG_KEY when `keyId` or `algorithm` is not this key's, or the wrapped key does not open. */
  unwrap(wrapped: Buffer, algorithm: WrapAlgorithm, keyId: string): Buffer;
}

const RSA_GENERATED_BITS = 3072;

function idOf(prefix: string, digest: Buffer): string {
  return `${prefix}:${digest.subarray(0, 8).toString('hex')}`;
}

function publicKeyId(kind: 'x25519' | 'rsa', publicKey: KeyObject): string {
  return idOf(kind, createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest());
}

function symmetricKeyId(key: Buffer): string {
  // Keyed, so the id is no plain hash of the key bytes.
  return idOf('a256gcm', createHmac('sha256', key).update('recgw key id v1').digest());
}

function asymmetricKind(file: string, key: KeyObject): 'x25519' | 'rsa' {
  const type = key.asymmetricKeyType;
  if (type === 'x25519') return 'x25519';
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      throw new CryptoError('KEY_INVALID', `key file ${file}: an RSA key of ${bits} bits; recordings take ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`);
    }
    return 'rsa';
  }
  throw new CryptoError('KEY_INVALID', `key file ${file}: a key of type ${type ?? 'unknown'}; recordings take X25519 or RSA keys`);
}

function symmetricKey(file: string, text: string): { key: KeyObject; id: string } {
  const raw = decodeSymmetricKey(text);
  if (raw === null) throw new CryptoError('KEY_INVALID', `key file ${file}: not a well-formed recgw symmetric key file`);
  const id = symmetricKeyId(raw);
  const key = createSecretKey(raw);
  raw.fill(0);
  return { key, id };
}

function wrongKind(file: string, kind: ReturnType<typeof pemKind>, wanted: string): CryptoError {
  const what = {
    public: 'a public key',
    private: 'a private key',
    'encrypted-private': 'a passphrase-protected private key (not supported)',
    symmetric: 'a recgw symmetric key',
    other: 'a PEM block of another kind',
  } as const;
  return new CryptoError('KEY_INVALID', `key file ${file}: holds ${kind === null ? 'no PEM block' : what[kind]}; expected ${wanted}`);
}

/**
 * The gateway's key: exactly one of a PEM public key file (X25519 or RSA) or a
 * symmetric key file. A private key is refused: the gateway never needs one.
 */
export function loadEncryptionKey(opts: { publicKey?: string; keyFile?: string }): KeyEncryptionKey {
  const { publicKey: publicFile, keyFile } = opts;
  if ((publicFile === undefined) === (keyFile === undefined)) {
    throw new CryptoError('KEY_INVALID', 'give exactly one of a public key file or a symmetric key file');
  }
  if (keyFile !== undefined) {
    const text = readKeyFile(keyFile);
    if (pemKind(text) !== 'symmetric') throw wrongKind(keyFile, pemKind(text), 'a recgw symmetric key file');
    const { key, id } = symmetricKey(keyFile, text);
    return Object.freeze({ id, algorithm: 'a256gcm' as const, wrap: (dataKey: Buffer) => a256gcmWrap(key, dataKey) });
  }
  const file = publicFile ?? '';
  const text = readKeyFile(file);
  if (pemKind(text) !== 'public') throw wrongKind(file, pemKind(text), 'a PEM public key (X25519 or RSA)');
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (err) {
    throw new CryptoError('KEY_INVALID', `key file ${file}: not a readable PEM public key`, { cause: err });
  }
  const kind = asymmetricKind(file, key);
  const id = publicKeyId(kind, key);
  if (kind === 'x25519') {
    return Object.freeze({ id, algorithm: 'x25519-hkdf-sha256-a256gcm' as const, wrap: (dataKey: Buffer) => x25519Wrap(key, dataKey) });
  }
  return Object.freeze({ id, algorithm: 'rsa-oaep-sha256' as const, wrap: (dataKey: Buffer) => rsaWrap(key, dataKey) });
}

function decryptionKey(id: string, algorithm: WrapAlgorithm, open: (wrapped: Buffer) => Buffer | null): KeyDecryptionKey {
  return Object.freeze({
    id,
    algorithm,
    unwrap(wrapped: Buffer, wrappedWith: WrapAlgorithm, keyId: string): Buffer {
      if (keyId !== id || wrappedWith !== algorithm) {
        throw new CryptoError('WRONG_KEY', `sealed for key ${keyId} (${wrappedWith}); this key is ${id} (${algorithm})`);
      }
      const dataKey = open(wrapped);
      if (dataKey === null) throw new CryptoError('WRONG_KEY', `the data key does not unwrap with key ${id}`);
      return dataKey;
    },
  });
}

/** A PEM private key (X25519 or RSA, unencrypted PKCS#8 or PKCS#1) or a symmetric key file. */
export function loadDecryptionKey(file: string): KeyDecryptionKey {
  const text = readKeyFile(file);
  const kind = pemKind(text);
  if (kind === 'symmetric') {
    const { key, id } = symmetricKey(file, text);
    return decryptionKey(id, 'a256gcm', (wrapped) => a256gcmUnwrap(key, wrapped));
  }
  if (kind !== 'private') throw wrongKind(file, kind, 'a PEM private key (X25519 or RSA) or a recgw symmetric key file');
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new CryptoError('KEY_INVALID', `key file ${file}: not a readable PEM private key`, { cause: err });
  }
  const publicKey = createPublicKey(key);
  const type = asymmetricKind(file, key);
  const id = publicKeyId(type, publicKey);
  if (type === 'x25519') {
    const recipientRaw = rawX25519(publicKey);
    return decryptionKey(id, 'x25519-hkdf-sha256-a256gcm', (wrapped) => x25519Unwrap(key, recipientRaw, wrapped));
  }
  return decryptionKey(id, 'rsa-oaep-sha256', (wrapped) => rsaUnwrap(key, wrapped));
}

/**
 * Writes `<UTC time>-<type>-<hex>.public.pem` (0644) and `….private.pem` (0600)
 * into `dir`: named by creation time and key id, so successive keys sit side
 * by side for rotation and sort oldest first.
 */
export function generateKeyPair(dir: string, opts?: { type?: 'x25519' | 'rsa' }): { publicKeyFile: string; privateKeyFile: string; id: string } {
  const type = opts?.type ?? 'x25519';
  const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: RSA_GENERATED_BITS }) : generateKeyPairSync('x25519');
  const id = publicKeyId(type, pair.publicKey);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `${stamp}-${id.replace(':', '-')}`;
  const publicKeyFile = join(dir, `${base}.public.pem`);
  const privateKeyFile = join(dir, `${base}.private.pem`);
  for (const f of [publicKeyFile, privateKeyFile]) {
    if (existsSync(f)) throw new CryptoError('KEY_EXISTS', `key file ${f}: already exists; refusing to overwrite it`);
  }
  writeNewFile(privateKeyFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  writeNewFile(publicKeyFile, pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  return { publicKeyFile, privateKeyFile, id };
}

/** Writes a fresh 256-bit key to `file` (0600); refuses to overwrite. */
export function generateSymmetricKey(file: string): { keyFile: string; id: string } {
  const raw = randomBytes(32);
  const id = symmetricKeyId(raw);
  try {
    writeNewFile(file, encodeSymmetricKey(raw), 0o600);
  } finally {
    raw.fill(0);
  }
  return { keyFile: file, id };
}

/** The id of whatever key `file` holds: a public key, a private key or a symmetric key. */
export function keyIdOf(file: string): string {
  const kind = pemKind(readKeyFile(file));
  return kind === 'public' ? loadEncryptionKey({ publicKey: file }).id : loadDecryptionKey(file).id;
}
