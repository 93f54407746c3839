import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { DATA_KEY_BYTES, rawX25519, x25519Unwrap, x25519Wrap } from '../../src/crypto/key-wrap.js';

test('the raw X25519 public key is RFC 7748\'s for its test scalar; a wrap opens with its private key and no other', () => {
  // RFC 7748, 6.1: Alice's private scalar and public key.
  const alice = createPrivateKey({ key: Buffer.from('302e020100300506032b656e04220420' + '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'), format: 'der', type: 'pkcs8' });
  assert.equal(rawX25519(createPublicKey(alice)).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.throws(() => rawX25519(generateKeyPairSync('ed25519').publicKey), /not an X25519 public key/);

  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const raw = rawX25519(publicKey);
  const dataKey = Buffer.alloc(DATA_KEY_BYTES, 7);
  const wrapped = x25519Wrap(publicKey, dataKey);
  assert.deepEqual(x25519Unwrap(privateKey, raw, wrapped), dataKey);
  const other = generateKeyPairSync('x25519');
  assert.equal(x25519Unwrap(other.privateKey, rawX25519(other.publicKey), wrapped), null);
});

/**
 * Node 20 builds a key's JWK while holding the key's lock; a garbage
 * collection there that frees the job which generated the key takes the same
 * lock, and the process hangs for good. A wrap per segment made a loaded
 * gateway hang this way (seen in the benchmark, 500 segments opening at once).
 * So many wraps in a row, in a process of their own, must simply finish.
 */
test('many fresh X25519 keys read raw, and many wraps, in a row never hang the process', { timeout: 120_000 }, async () => {
  const rounds = 40_000;
  const script = `
    import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
    import { rawX25519, x25519Wrap } from ${JSON.stringify(fileURLToPath(new URL('../../src/crypto/key-wrap.ts', import.meta.url)))};
    const { publicKey } = generateKeyPairSync('x25519');
    const dataKey = Buffer.alloc(32, 1);
    // The wrap's own pattern, bare: a fresh key's raw bytes read at once. It hangs within a few thousand rounds when it can.
    for (let i = 0; i < ${rounds}; i++) rawX25519(generateKeyPairSync('x25519').publicKey);
    for (let i = 0; i < ${rounds / 4}; i++) x25519Wrap(publicKey, dataKey);
    process.stdout.write('done');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const limitMs = 60_000;
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('hung');
    }, limitMs);
    child.on('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? signal ?? 'unknown');
    });
  });
  assert.equal(code, 0, `${rounds} fresh keys and ${rounds / 4} wraps did not finish within ${limitMs / 1000} s (${code}): the process hung`);
  assert.equal(out, 'done');
});
