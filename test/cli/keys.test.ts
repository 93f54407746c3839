import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runKeys } from '../../src/cli/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'recgw-cli-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await runKeys(args, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  return { status, out, err };
}

function field(out: string, name: string): string {
  const m = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(out);
  assert.ok(m?.[1] !== undefined, `no '${name}' in:\n${out}`);
  return m[1];
}

test('keys generate prints the files and the key id, never the key', async () => {
  const r = await run('generate', '--dir', join(dir, 'pair'));
  assert.equal(r.status, 0, r.err);
  const id = field(r.out, 'key id');
  const privateFile = field(r.out, 'private key');
  assert.match(id, /^x25519:[0-9a-f]{16}$/);
  assert.equal(statSync(privateFile).mode & 0o777, 0o600);
  assert.equal(r.out.includes('BEGIN'), false);
  const body = readFileSync(privateFile, 'utf8').split('\n')[1] ?? '';
  assert.equal(r.out.includes(body.slice(0, 20)), false);
  const idOut = await run('id', field(r.out, 'public key'));
  assert.deepEqual(idOut, { status: 0, out: `${id}\n`, err: '' });
});

test('keys generate --type rsa and generate-symmetric', async () => {
  const rsa = await run('generate', '--dir', join(dir, 'rsa'), '--type', 'rsa');
  assert.equal(rsa.status, 0, rsa.err);
  assert.match(field(rsa.out, 'key id'), /^rsa:/);
  const file = join(dir, 'recordings.key');
  const sym = await run('generate-symmetric', '--file', file);
  assert.equal(sym.status, 0, sym.err);
  assert.equal(field(sym.out, 'key file'), file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal((await run('id', file)).out, `${field(sym.out, 'key id')}\n`);
  // Again: refused, status 1, the file named, nothing on stdout.
  const again = await run('generate-symmetric', '--file', file);
  assert.equal(again.status, 1);
  assert.equal(again.out, '');
  assert.match(again.err, /already exists; refusing to overwrite/);
});

test('usage mistakes exit 2 with the usage text; a bad key file exits 1', async () => {
  for (const args of [[], ['rotate'], ['generate'], ['generate', '--dir'], ['generate', '--dir', dir, '--type', 'dsa'], ['generate', '--file', 'x'], ['id']]) {
    const r = await run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.out + r.err, /usage: recgw keys/);
  }
  const bad = await run('id', join(dir, 'nothing-here.pem'));
  assert.equal(bad.status, 1);
  assert.match(bad.err, /nothing-here\.pem: cannot be read \(ENOENT\)/);
  assert.equal((await run('help')).status, 0);
});
