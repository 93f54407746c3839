/** What the engine answers to requests outside any call, and to broken input, over UDP and TCP. */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { EmbeddedSipEngine } from '../../../src/sip/embedded/engine.js';
import { headerOf, RawUdpPeer, rawRequest, startEngine, waitFor } from '../helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function setup(): Promise<{ engine: EmbeddedSipEngine; peer: RawUdpPeer }> {
  const engine = await startEngine();
  const peer = await RawUdpPeer.open();
  cleanup.push(() => engine.close(), () => peer.close());
  return { engine, peer };
}

async function ask(peer: RawUdpPeer, engine: EmbeddedSipEngine, text: string): Promise<string> {
  const before = peer.received.length;
  await peer.send(text, engine.local.port);
  await waitFor('a response', () => peer.received.length > before);
  return peer.received[before] ?? '';
}

test('out-of-dialog requests: OPTIONS 200, MESSAGE 405, unknown dialog 481, unknown CANCEL 481, Max-Forwards 0 483, no listener 480', async () => {
  const { engine, peer } = await setup();
  const p = peer.port;
  assert.match(await ask(peer, engine, rawRequest({ method: 'OPTIONS', port: p, branch: 'z9hG4bK-1' })), /^SIP\/2\.0 200 OK/);
  const msg = await ask(peer, engine, rawRequest({ method: 'MESSAGE', port: p, branch: 'z9hG4bK-2' }));
  assert.match(msg, /^SIP\/2\.0 405 /);
  assert.match(headerOf(msg, 'Allow') ?? '', /INVITE/);
  assert.match(await ask(peer, engine, rawRequest({ method: 'BYE', port: p, branch: 'z9hG4bK-3', toTag: 'nope' })), /^SIP\/2\.0 481 /);
  assert.match(await ask(peer, engine, rawRequest({ method: 'INFO', port: p, branch: 'z9hG4bK-4', toTag: 'nope' })), /^SIP\/2\.0 481 /);
  assert.match(await ask(peer, engine, rawRequest({ method: 'CANCEL', port: p, branch: 'z9hG4bK-5' })), /^SIP\/2\.0 481 /);
  const hops = rawRequest({ method: 'OPTIONS', port: p, branch: 'z9hG4bK-6' }).replace('Max-Forwards: 70', 'Max-Forwards: 0');
  assert.match(await ask(peer, engine, hops), /^SIP\/2\.0 483 /);
  // Nobody listens for 'invite' here: 100 Trying, then 480.
  await peer.send(rawRequest({ method: 'INVITE', port: p, branch: 'z9hG4bK-7' }), engine.local.port);
  await waitFor('480', () => peer.matching(/^SIP\/2\.0 480 /).length === 1);
  assert.equal(engine.stats.malformed, 0);
});

test('malformed requests get 400 with the reason; what cannot be answered is dropped; strays are dropped', async () => {
  const { engine, peer } = await setup();
  const p = peer.port;
  const mismatch = rawRequest({ method: 'OPTIONS', port: p }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
  assert.match(await ask(peer, engine, mismatch), /^SIP\/2\.0 400 CSeq Method Mismatch\r\n/);
  const short = rawRequest({ method: 'MESSAGE', port: p, body: 'hello' }).replace('Content-Length: 5', 'Content-Length: 50');
  const r400 = await ask(peer, engine, short);
  assert.match(r400, /^SIP\/2\.0 400 Content-Length exceeds body/);
  assert.match(headerOf(r400, 'To') ?? '', /;tag=\w+/);
  assert.equal(engine.stats.rejected400, 2);
  await peer.send('\x00\x01garbage\r\n\r\n', engine.local.port);
  await peer.send('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-stray\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n', engine.local.port);
  await peer.send(rawRequest({ method: 'ACK', port: p, toTag: 'x' }), engine.local.port);
  await waitFor('three drops', () => engine.stats.dropped === 3);
  assert.equal(engine.stats.malformed, 3);
  assert.equal(peer.received.length, 2);
});

test('TCP: responses on the same connection; a lying Content-Length closes it', async () => {
  const { engine } = await setup();
  const sock = net.connect(engine.local.port, '127.0.0.1');
  cleanup.push(() => {
    sock.destroy();
    return Promise.resolve();
  });
  let data = '';
  sock.on('data', (d: Buffer) => (data += d.toString()));
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const port = sock.localPort ?? 0;
  // Two requests in one write, preceded by a keep-alive.
  sock.write(`\r\n\r\n${rawRequest({ method: 'OPTIONS', port, transport: 'TCP', branch: 'z9hG4bK-t1' })}${rawRequest({ method: 'OPTIONS', port, transport: 'TCP', branch: 'z9hG4bK-t2' })}`);
  await waitFor('two 200', () => (data.match(/^SIP\/2\.0 200 /gm) ?? []).length === 2);
  sock.write('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n');
  await closed;
  assert.equal(engine.stats.malformed, 1);
  assert.equal(engine.stats.received, 2);
});
