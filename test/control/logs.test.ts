/**
 * `GET /logs` as a WebSocket against a real control server: the backlog and
 * then each line as it is written, filtered; refused without the token (and
 * audited), with a bad query, or without an upgrade; a follower too slow to
 * read loses lines and is told how many; close() lets every follower go.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { LogHub } from '../../src/ops/log-hub.js';
import { createLogger } from '../../src/ops/log.js';
import { readAudit, startHarness, TOKEN, type ErrorReply, type Harness } from './harness.js';

const discard = (): Writable => new Writable({ write: (_c, _e, done) => done() });

interface Follower {
  readonly ws: WebSocket;
  readonly lines: { msg: string; callId?: string; level: number }[];
  /** Waits until `n` lines have come. */
  until(n: number): Promise<void>;
}

async function follow(h: Harness, query = '', token: string = TOKEN): Promise<Follower> {
  const ws = new WebSocket(`ws://127.0.0.1:${h.server.port}/logs${query}`, { headers: { authorization: `Bearer ${token}` } });
  const lines: Follower['lines'] = [];
  ws.on('message', (d: Buffer) => lines.push(JSON.parse(d.toString('utf8')) as Follower['lines'][number]));
  await once(ws, 'open');
  return {
    ws,
    lines,
    async until(n) {
      for (let i = 0; i < 100 && lines.length < n; i++) await sleep(20);
      assert.ok(lines.length >= n, `${n} lines came (${lines.length})`);
    },
  };
}

/** The HTTP answer an upgrade was refused with. */
async function refusal(h: Harness, path: string, headers: Record<string, string>): Promise<{ status: number; body: ErrorReply }> {
  const ws = new WebSocket(`ws://127.0.0.1:${h.server.port}${path}`, { headers });
  // Ending a socket whose upgrade was refused is reported as an error: expected here.
  ws.on('error', () => undefined);
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  ws.terminate();
  return { status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8')) as ErrorReply };
}

test('a follower gets the recent lines first, then each line as it is written, as its filter asks', async (t) => {
  const hub = new LogHub();
  const h = await startHarness(t, { logs: hub });
  const log = createLogger({ level: 'info', destination: discard(), hub });
  log.child({ callId: 'c-1', line: 'helpline' }).info('call started');
  log.child({ callId: 'c-2', line: 'helpline' }).info('call started');

  const all = await follow(h, '?tail=10');
  const one = await follow(h, '?callId=c-1');
  const warnings = await follow(h, '?level=warn&tail=0');
  await all.until(2);
  await one.until(1);
  log.child({ callId: 'c-1', line: 'helpline' }).warn('agent queue did not answer');
  log.child({ callId: 'c-2', line: 'helpline' }).info('call ended');
  await all.until(4);
  await one.until(2);
  await warnings.until(1);
  assert.deepEqual(all.lines.map((l) => [l.callId, l.msg]), [['c-1', 'call started'], ['c-2', 'call started'], ['c-1', 'agent queue did not answer'], ['c-2', 'call ended']]);
  assert.deepEqual(one.lines.map((l) => l.msg), ['call started', 'agent queue did not answer']);
  assert.deepEqual(warnings.lines.map((l) => [l.level, l.msg]), [[40, 'agent queue did not answer']]);

  // close() says goodbye to every follower.
  const closed = once(all.ws, 'close');
  await h.server.close();
  const [code] = (await closed) as [number];
  assert.equal(code, 1001);
});

test('the tail is refused without the token (audited), beyond a client\'s role, with a bad query, and without an upgrade', async (t) => {
  const h = await startHarness(t, { logs: new LogHub(), clients: [{ name: 'records-office', role: 'records', token: 'records-token-0123456789' }] });
  const denied = await refusal(h, '/logs', { authorization: 'Bearer not-the-token-at-all' });
  assert.equal(denied.status, 401);
  assert.equal(denied.body.error.code, 'unauthorized');
  const [record] = await readAudit(h.auditFile);
  assert.equal(record?.['action'], 'unauthorized');
  assert.equal((record?.['details'] as { path: string }).path, '/logs');

  for (const [query, message] of [['?level=loud', /level must be one of/], ['?tail=-1', /tail must be/], ['?follow=1', /unknown parameter\(s\): follow/]] as const) {
    const bad = await refusal(h, `/logs${query}`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(bad.status, 400, query);
    assert.match(bad.body.error.message, message);
  }
  assert.equal((await refusal(h, '/calls', { authorization: `Bearer ${TOKEN}` })).status, 404);
  const records = await refusal(h, '/logs', { authorization: 'Bearer records-token-0123456789' });
  assert.equal(records.status, 403, 'the records office\'s token does not follow the log');

  const plain = await h.call('/logs');
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get('upgrade'), 'websocket');
  assert.equal(((await plain.json()) as ErrorReply).error.code, 'upgrade-required');
});

test('a follower that stops reading loses lines, not the gateway\'s memory, and is told how many once it reads again', async (t) => {
  const hub = new LogHub();
  const h = await startHarness(t, { logs: hub });
  const log = createLogger({ level: 'info', destination: discard(), hub });
  const slow = await follow(h, '?tail=0');
  // Stop reading: the kernel's buffers fill, then the server's queue grows to its limit.
  const socket = (slow.ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  const pad = 'x'.repeat(1000);
  for (let i = 0; i < 20_000; i++) {
    log.info({ pad }, `line ${i}`);
    if (i % 500 === 0) await sleep(1);
  }
  socket.resume();
  const notice = (): boolean => slow.lines.some((l) => /log stream: \d+ lines dropped/.test(l.msg));
  log.info('after the pause');
  for (let i = 0; i < 200 && !slow.lines.some((l) => l.msg === 'after the pause'); i++) {
    await sleep(25);
    log.info('after the pause');
  }
  assert.ok(notice(), 'a notice says lines were dropped');
  assert.ok(slow.lines.length < 20_000, `fewer lines than were written came (${slow.lines.length})`);
  slow.ws.close();
});
