import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { CryptoError } from '../../src/crypto/errors.js';
import {
  generateKeyPair,
  generateSymmetricKey,
  keyIdOf,
  loadDecryptionKey,
  loadEncryptionKey,
} from '../../src/crypto/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'recgw-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fails(fn: () => unknown, code: string, file: string | undefined, what: RegExp): CryptoError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CryptoError, `expected a CryptoError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (file !== undefined) assert.ok(caught.message.includes(file), `the message names ${file}: ${caught.message}`);
  assert.match(caught.message, what);
  return caught;
}

/** The base64 body of a PEM or key file: what must never show in an error or an id. */
function material(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('-----')).map((l) => l.slice(0, 24));
}

test('a generated X25519 pair: private file 0600, public 0644, one id from either half', () => {
  const made = generateKeyPair(join(dir, 'x'));
  assert.match(made.id, /^x25519:[0-9a-f]{16}$/);
  assert.equal(statSync(made.privateKeyFile).mode & 0o777, 0o600);
  assert.equal(statSync(made.publicKeyFile).mode & 0o777, 0o644);
  assert.equal(statSync(join(dir, 'x')).mode & 0o077, 0, 'a directory it creates is the owner\'s only');
  // Named by creation time and key id: keys sit side by side for rotation and sort oldest first.
  assert.match(basename(made.privateKeyFile), new RegExp(`^\\d{8}T\\d{6}Z-x25519-${made.id.slice(7)}\\.private\\.pem$`));
  assert.equal(basename(made.publicKeyFile), basename(made.privateKeyFile).replace('.private.', '.public.'));
  const kek = loadEncryptionKey({ publicKey: made.publicKeyFile });
  const kdk = loadDecryptionKey(made.privateKeyFile);
  assert.equal(kek.id, made.id);
  assert.equal(kdk.id, made.id);
  assert.equal(keyIdOf(made.publicKeyFile), made.id);
  assert.equal(keyIdOf(made.privateKeyFile), made.id);
  for (const m of material(made.privateKeyFile)) assert.equal(made.id.includes(m), false);
  // Each wrap is new (ephemeral key, nonce) and unwraps to the data key.
  const dataKey = Buffer.alloc(32, 7);
  const a = kek.wrap(dataKey);
  const b = kek.wrap(dataKey);
  assert.notDeepEqual(a, b);
  assert.deepEqual(kdk.unwrap(a, kek.algorithm, kek.id), dataKey);
  assert.deepEqual(kdk.unwrap(b, kek.algorithm, kek.id), dataKey);
});

test('a generated RSA pair is 3072 bits, OAEP-wrapped, and its private file is 0600', () => {
  const made = generateKeyPair(dir, { type: 'rsa' });
  assert.match(made.id, /^rsa:[0-9a-f]{16}$/);
  assert.equal(statSync(made.privateKeyFile).mode & 0o777, 0o600);
  const kek = loadEncryptionKey({ publicKey: made.publicKeyFile });
  assert.equal(kek.algorithm, 'rsa-oaep-sha256');
  const wrapped = kek.wrap(Buffer.alloc(32, 1));
  assert.equal(wrapped.length, 384);
  assert.deepEqual(loadDecryptionKey(made.privateKeyFile).unwrap(wrapped, kek.algorithm, kek.id), Buffer.alloc(32, 1));
});

test('a symmetric key file is 0600, never overwritten, and serves both sides', () => {
  const file = join(dir, 'sym', 'recordings.key');
  const made = generateSymmetricKey(file);
  assert.match(made.id, /^a256gcm:[0-9a-f]{16}$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const before = readFileSync(file);
  fails(() => generateSymmetricKey(file), 'KEY_EXISTS', file, /refusing to overwrite/);
  assert.deepEqual(readFileSync(file), before);
  const kek = loadEncryptionKey({ keyFile: file });
  const kdk = loadDecryptionKey(file);
  assert.equal(kek.id, made.id);
  assert.equal(kdk.id, made.id);
  assert.deepEqual(kdk.unwrap(kek.wrap(Buffer.alloc(32, 3)), 'a256gcm', made.id), Buffer.alloc(32, 3));
  // Two keys, two ids.
  assert.notEqual(generateSymmetricKey(join(dir, 'sym', 'other.key')).id, made.id);
});

test('unwrap is WRONG_KEY for another key id, another algorithm, or bytes that do not open', () => {
  const made = generateKeyPair(join(dir, 'w'));
  const kek = loadEncryptionKey({ publicKey: made.publicKeyFile });
  const kdk = loadDecryptionKey(made.privateKeyFile);
  const wrapped = kek.wrap(Buffer.alloc(32));
  fails(() => kdk.unwrap(wrapped, kek.algorithm, 'x25519:0000000000000000'), 'WRONG_KEY', undefined, /sealed for key x25519:0000000000000000/);
  fails(() => kdk.unwrap(wrapped, 'rsa-oaep-sha256', kek.id), 'WRONG_KEY', undefined, /rsa-oaep-sha256/);
  for (let i = 0; i < wrapped.length; i += 7) {
    const bad = Buffer.from(wrapped);
    bad[i] = (bad[i] ?? 0) ^ 1;
    fails(() => kdk.unwrap(bad, kek.algorithm, kek.id), 'WRONG_KEY', undefined, /does not unwrap/);
  }
  fails(() => kdk.unwrap(wrapped.subarray(1), kek.algorithm, kek.id), 'WRONG_KEY', undefined, /does not unwrap/);
  // A low-order ephemeral point (all zeros) gives an all-zero shared secret: refused, not used.
  fails(() => kdk.unwrap(Buffer.concat([Buffer.alloc(32), wrapped.subarray(32)]), kek.algorithm, kek.id), 'WRONG_KEY', undefined, /does not unwrap/);
});

test('keys of another kind are KEY_INVALID naming the file, and no message shows key material', () => {
  const pair = generateKeyPair(join(dir, 'k'));
  const sym = generateSymmetricKey(join(dir, 'k', 'sym.key')).keyFile;
  const write = (name: string, text: string | Buffer): string => {
    const f = join(dir, 'k', name);
    writeFileSync(f, text);
    return f;
  };
  const ed = generateKeyPairSync('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const edPub = write('ed.pub.pem', ed.publicKey.export({ type: 'spki', format: 'pem' }));
  const ecPriv = write('ec.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const smallPub = write('small.pub.pem', small.publicKey.export({ type: 'spki', format: 'pem' }));
  const locked = write('locked.pem', ed.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }));
  const garbage = write('garbage.pem', 'not a key at all\n');
  const broken = write('broken.pub.pem', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
  const shortSym = write('short.key', '-----BEGIN RECGW RECORDING KEY-----\nAAAA\n-----END RECGW RECORDING KEY-----\n');
  const dirtySym = write('dirty.key', readFileSync(sym, 'utf8').replace('\n', '\n!'));
  const missing = join(dir, 'k', 'missing.pem');

  const errors = [
    fails(() => loadEncryptionKey({ publicKey: pair.privateKeyFile }), 'KEY_INVALID', pair.privateKeyFile, /private key; expected a PEM public key/),
    fails(() => loadEncryptionKey({ publicKey: sym }), 'KEY_INVALID', sym, /symmetric key; expected a PEM public key/),
    fails(() => loadEncryptionKey({ keyFile: pair.publicKeyFile }), 'KEY_INVALID', pair.publicKeyFile, /public key; expected a recgw symmetric key file/),
    fails(() => loadEncryptionKey({ publicKey: edPub }), 'KEY_INVALID', edPub, /type ed25519/),
    fails(() => loadEncryptionKey({ publicKey: smallPub }), 'KEY_INVALID', smallPub, /1024 bits/),
    fails(() => loadEncryptionKey({ publicKey: garbage }), 'KEY_INVALID', garbage, /no PEM block/),
    fails(() => loadEncryptionKey({ publicKey: broken }), 'KEY_INVALID', broken, /not a readable PEM public key/),
    fails(() => loadEncryptionKey({ publicKey: missing }), 'KEY_INVALID', missing, /ENOENT/),
    fails(() => loadEncryptionKey({ keyFile: shortSym }), 'KEY_INVALID', shortSym, /not a well-formed/),
    fails(() => loadEncryptionKey({ keyFile: dirtySym }), 'KEY_INVALID', dirtySym, /not a well-formed/),
    fails(() => loadEncryptionKey({}), 'KEY_INVALID', undefined, /exactly one/),
    fails(() => loadEncryptionKey({ publicKey: pair.publicKeyFile, keyFile: sym }), 'KEY_INVALID', undefined, /exactly one/),
    fails(() => loadDecryptionKey(pair.publicKeyFile), 'KEY_INVALID', pair.publicKeyFile, /public key; expected a PEM private key/),
    fails(() => loadDecryptionKey(ecPriv), 'KEY_INVALID', ecPriv, /type ec/),
    fails(() => loadDecryptionKey(locked), 'KEY_INVALID', locked, /passphrase-protected/),
    fails(() => loadDecryptionKey(garbage), 'KEY_INVALID', garbage, /no PEM block/),
  ];
  const secrets = [pair.privateKeyFile, sym, ecPriv, locked].flatMap(material);
  for (const e of errors) {
    for (const s of secrets) assert.equal(e.message.includes(s), false, `key material in: ${e.message}`);
  }
});
