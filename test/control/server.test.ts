import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startControlServer } from '../../src/control/server.js';
import { silentLogger } from '../../src/ops/log.js';
import { FakeControl, readAudit, startHarness, TOKEN, type ErrorReply } from './harness.js';

/** Writes `data` on a fresh TCP connection and resolves with everything read until the server closes it. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(data));
    const parts: Buffer[] = [];
    socket.on('data', (b: Buffer) => parts.push(b));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

function jsonOf(raw: string): ErrorReply {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as ErrorReply;
}

test('without the right bearer token every route is a 401 that changes nothing, is audited and never records the token', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  const wrong = `${TOKEN}x`;
  const attempts: { path: string; method: string; authorization?: string; token?: string | null }[] = [
    { path: '/calls/c1/pause', method: 'POST', token: null },
    { path: '/calls/c1/pause', method: 'POST', token: wrong },
    { path: '/calls/c1/stop', method: 'POST', token: TOKEN.slice(0, -1) },
    { path: '/calls/c1/opt-out', method: 'POST', authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
    { path: '/calls/c1/pause', method: 'POST', authorization: 'Bearer' },
    { path: '/calls', method: 'GET', token: wrong },
    { path: '/health', method: 'GET', token: null },
    // Unknown routes too: without the token nothing is revealed, not even which paths exist.
    { path: '/nothing', method: 'DELETE', token: wrong },
  ];
  const started = Date.now();
  for (const a of attempts) {
    const r = await h.call(a.path, { method: a.method, ...(a.token !== undefined && { token: a.token }), ...(a.authorization !== undefined && { authorization: a.authorization }) });
    assert.equal(r.status, 401, `${a.method} ${a.path}`);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal(((await r.json()) as ErrorReply).error.code, 'unauthorized');
  }
  const elapsed = Date.now() - started;

  assert.equal(h.control.get('c1')?.capture, 'recording');
  assert.deepEqual(h.control.get('c1')?.pausedWindows, []);
  assert.equal(h.server.stats.unauthorized, attempts.length);

  const records = await readAudit(h.auditFile);
  assert.equal(records.length, attempts.length);
  for (const r of records) {
    assert.equal(r['action'], 'unauthorized');
    assert.equal(r['outcome'], 'unauthorized');
    assert.equal((r['details'] as Record<string, unknown>)['remote'], '127.0.0.1');
  }
  const auditText = await readFile(h.auditFile, 'utf8');
  const logText = JSON.stringify(h.logLines());
  for (const secret of [TOKEN, TOKEN.slice(0, -1), Buffer.from(`u:${TOKEN}`).toString('base64')]) {
    assert.ok(!auditText.includes(secret), 'token material in the audit log');
    assert.ok(!logText.includes(secret), 'token material in the log');
  }
  // Rate-limited: at most one warning a second, counting the refusals.
  const warns = h.logLines().filter((l) => l['level'] === 40);
  assert.ok(warns.length >= 1);
  assert.ok(warns.length <= Math.floor(elapsed / 1000) + 1, `${warns.length} warnings in ${elapsed} ms`);
  assert.equal(warns[0]?.['unauthorized'], 1);

  // The scheme name is case-insensitive; the token is not.
  assert.equal((await h.call('/calls', { authorization: `bearer ${TOKEN}` })).status, 200);
  assert.equal((await h.call('/calls', { authorization: `Bearer ${TOKEN.toUpperCase()}` })).status, 401);
});

test('a client that sends its headers too slowly gets a JSON 408 and is disconnected', async (t) => {
  const h = await startHarness(t, { headersTimeoutMs: 200, requestTimeoutMs: 400 });
  // Never finishes the header block.
  const raw = await rawExchange(h.server.port, `GET /calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n`);
  assert.match(raw, /^HTTP\/1\.1 408 /);
  assert.equal(jsonOf(raw).error.code, 'bad-request');
  assert.equal((await h.call('/health')).status, 200);
});

test('requests node cannot parse, or with oversized headers, get a JSON error and the server carries on', async (t) => {
  const h = await startHarness(t);
  const garbage = await rawExchange(h.server.port, 'NOT HTTP AT ALL\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 /);
  assert.equal(jsonOf(garbage).error.code, 'bad-request');

  const huge = await rawExchange(h.server.port, `GET /calls HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);

  const badLength = await rawExchange(h.server.port, `POST /calls/c1/pause HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n`);
  assert.match(badLength, /^HTTP\/1\.1 400 /);

  assert.ok(h.server.stats.malformed >= 3);
  assert.equal((await h.call('/health')).status, 200);
});

test('a request with no Host header is still answered in JSON', async (t) => {
  const h = await startHarness(t);
  const raw = await rawExchange(h.server.port, `GET /health HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
  assert.match(raw, /^HTTP\/1\.1 200 /);
  assert.deepEqual(jsonOf(raw), { status: 'ok' });
});

test('close() is idempotent and stops the server; a port in use and a short token are refused at start', async (t) => {
  const h = await startHarness(t);
  const again = startControlServer({ listen: '127.0.0.1', port: h.server.port, token: TOKEN, control: new FakeControl(), audit: h.audit, log: silentLogger() });
  await assert.rejects(again, { code: 'EADDRINUSE' });
  await assert.rejects(
    startControlServer({ listen: '127.0.0.1', port: 0, token: 'short', control: new FakeControl(), audit: h.audit, log: silentLogger() }),
    RangeError,
  );

  assert.equal((await h.call('/health')).status, 200);
  await Promise.all([h.server.close(), h.server.close()]);
  await h.server.close();
  await assert.rejects(h.call('/health'));
});

test('a client that goes away in the middle of its body changes nothing and the server carries on', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  await new Promise<void>((resolve, reject) => {
    const socket = connect(h.server.port, '127.0.0.1', () => {
      socket.write(`POST /calls/c1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\n{"by":`, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.on('error', reject);
  });
  for (let i = 0; i < 1000 && h.audit.lastSeq === 0; i++) await new Promise((r) => setTimeout(r, 5));
  const [rec] = await readAudit(h.auditFile);
  assert.equal(rec?.['outcome'], 'bad-request');
  assert.equal(h.control.get('c1')?.capture, 'recording');
  assert.equal((await h.call('/health')).status, 200);
});
