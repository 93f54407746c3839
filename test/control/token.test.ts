import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import type { TokenSource } from '../../src/config/types.js';
import { bearerAuth } from '../../src/control/auth.js';
import { loadClientTokens, loadControlToken } from '../../src/control/token.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const withFile = (tokenFile: string): TokenSource => ({ tokenFile });

test('with no token file, one is made (with its directory) holding a long random token, mode 0600, and reused after', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'var', 'run', 'control-token');
  const made = await loadControlToken(withFile(file));
  assert.equal(made.created, true);
  assert.equal(made.file, file);
  assert.match(made.token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.equal(await readFile(file, 'utf8'), `${made.token}\n`);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'var', 'run'))).mode & 0o777, 0o700);
  assert.deepEqual(await readdir(join(dir, 'var', 'run')), ['control-token'], 'no temp file left beside it');
  assert.equal(bearerAuth([{ name: 'admin', role: 'admin', token: made.token }])(`Bearer ${made.token}`).outcome, 'ok', 'usable as a bearer token');

  const again = await loadControlToken(withFile(file));
  assert.deepEqual(again, { token: made.token, file, created: false });
  const other = await loadControlToken(withFile(join(dir, 'elsewhere')));
  assert.notEqual(other.token, made.token, 'each file its own token');
});

test('gateways starting at once agree on one token', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'control-token');
  const loads = await Promise.all(Array.from({ length: 8 }, () => loadControlToken(withFile(file))));
  assert.equal(new Set(loads.map((l) => l.token)).size, 1, 'one token');
  assert.equal(loads.filter((l) => l.created).length, 1, 'made once');
  assert.equal(await readFile(file, 'utf8'), `${loads[0]?.token ?? ''}\n`);
});

test('a token in the config is used as is, and no file is touched', async (t) => {
  const dir = await tempDir(t);
  const token = 'configured-token-0123456789';
  assert.deepEqual(await loadControlToken({ token }), { token, created: false });
  assert.deepEqual(await readdir(dir), []);
});

test('an operator-made token file is trimmed, and made private when others could read it', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'control-token');
  await writeFile(file, '  provisioned-token-abcdefghij \n\n');
  await chmod(file, 0o644);
  assert.deepEqual(await loadControlToken(withFile(file)), { token: 'provisioned-token-abcdefghij', file, created: false });
  assert.equal((await stat(file)).mode & 0o777, 0o600);
});

test('a token file holding a short token, or more than one word, is a config error that does not echo it', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'control-token');
  for (const content of ['', 'short-secret\n', 'first-half-of-it second-half-of-it\n']) {
    await writeFile(file, content);
    await assert.rejects(loadControlToken(withFile(file)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.deepEqual(err.problems.map((p) => p.path), ['control.tokenFile']);
      for (const word of content.split(/\s+/).filter((w) => w !== '')) assert.equal(err.message.includes(word), false, 'the content is not in the message');
      return true;
    });
    assert.equal(await readFile(file, 'utf8'), content, 'the file is left as it was');
  }
});

test('each client\'s token file is made when missing, and a client sharing a token with another is refused, naming both', async (t) => {
  const dir = await tempDir(t);
  const control = { enabled: true, listen: '127.0.0.1', port: 0, token: 'main-token-0123456789', clients: [{ name: 'desk', role: 'operator' as const, tokenFile: join(dir, 'desk-token') }] };
  const [desk] = await loadClientTokens(control, control.token);
  assert.equal(desk?.name, 'desk');
  assert.equal((await readFile(join(dir, 'desk-token'), 'utf8')).trim(), desk?.token);
  assert.notEqual(desk?.token, control.token);

  const twice = { ...control, clients: [...control.clients, { name: 'records', role: 'records' as const, tokenFile: join(dir, 'desk-token') }] };
  await assert.rejects(loadClientTokens(twice, control.token), (err: Error) => /control\.clients\[1\].*same token as control\.clients\[0\] \(desk\)/.test(err.message));
  const asMain = { ...control, clients: [{ name: 'desk', role: 'operator' as const, token: control.token }] };
  await assert.rejects(loadClientTokens(asMain, control.token), /same token as the main token/);
});
