/** Client transactions against a raw socket peer: retransmission counts, ACK and CANCEL on the wire. */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { EmbeddedSipEngine } from '../../../src/sip/embedded/engine.js';
import { SipError } from '../../../src/sip/errors.js';
import { branchOf, headerOf, RawUdpPeer, rawResponse, sdp, startEngine, waitFor } from '../helpers.js';

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

const is = (status: number) => (e: unknown): boolean => e instanceof SipError && e.status === status;

test('an unanswered INVITE over UDP is retransmitted (Timer A) until Timer B gives 408', async () => {
  const { engine, peer } = await setup();
  const options = { localSdp: sdp(5000), fromName: 'Line "7"', headers: { 'Max-Forwards': '10', 'P-Asserted-Identity': '<sip:+4412@127.0.0.1>' } };
  await assert.rejects(engine.createUAC(`sip:x@127.0.0.1:${peer.port}`, options), is(408));
  const invites = peer.matching(/^INVITE /);
  // T1=20 ms, 64*T1=1280 ms: sends at 0, 20, 60, 140, 300, 620 and 1260 ms; a busy machine may lose the last ones.
  assert.ok(invites.length >= 4 && invites.length <= 7, `${invites.length} INVITEs`);
  assert.equal(new Set(invites).size, 1, 'retransmissions are byte-identical');
  const first = invites[0] ?? '';
  assert.match(headerOf(first, 'Via') ?? '', /^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK\w+;rport$/);
  assert.equal(first.match(/^Max-Forwards:/gm)?.length, 1, 'an override replaces, never duplicates');
  assert.equal(headerOf(first, 'Max-Forwards'), '10');
  assert.equal(headerOf(first, 'P-Asserted-Identity'), '<sip:+4412@127.0.0.1>');
  assert.equal(headerOf(first, 'User-Agent'), 'recgw');
  assert.equal(headerOf(first, 'Content-Type'), 'application/sdp');
  assert.equal(Number(headerOf(first, 'Content-Length')), Buffer.byteLength(sdp(5000)));
  assert.match(headerOf(first, 'From') ?? '', /^"Line 7" <sip:anonymous@127\.0\.0\.1>;tag=\w+$/);
  assert.equal(engine.stats.transactions, 0);
});

test('over TCP the INVITE is sent once and Timer B still ends it', async () => {
  const engine = await startEngine();
  cleanup.push(() => engine.close());
  let data = '';
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (d: Buffer) => (data += d.toString()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  const port = (server.address() as net.AddressInfo).port;
  await assert.rejects(engine.createUAC(`sip:x@127.0.0.1:${port};transport=tcp`, { localSdp: sdp(5000) }), is(408));
  assert.equal(data.match(/^INVITE /gm)?.length, 1);
  assert.match(data, /Via: SIP\/2\.0\/TCP /);
  assert.match(data, /Contact: <sip:recgw@127\.0\.0\.1:\d+;transport=tcp>/);
});

test('2xx: the UAC ACKs it, re-ACKs a retransmitted 2xx; an unanswered INFO is retransmitted (Timer E) until 408', async () => {
  const { engine, peer } = await setup();
  peer.socket.on('message', (m) => {
    const text = m.toString();
    if (text.startsWith('INVITE ')) void peer.send(rawResponse(text, 200, 'OK', { toTag: 'peer1', contactPort: peer.port, body: sdp(6000) }), engine.local.port);
  });
  const dialog = await engine.createUAC(`sip:x@127.0.0.1:${peer.port}`, { localSdp: sdp(5000) });
  assert.equal(dialog.remote.sdp, sdp(6000));
  await waitFor('ACK', () => peer.matching(/^ACK /).length === 1);
  const invite = peer.matching(/^INVITE /)[0] ?? '';
  const ack = peer.matching(/^ACK /)[0] ?? '';
  assert.notEqual(branchOf(ack), branchOf(invite), 'the ACK for a 2xx is a new transaction');
  assert.equal(headerOf(ack, 'CSeq'), '1 ACK');
  assert.match(headerOf(ack, 'To') ?? '', /tag=peer1/);
  assert.match(ack, new RegExp(`^ACK sip:peer@127\\.0\\.0\\.1:${peer.port} SIP/2\\.0`));
  await peer.send(rawResponse(invite, 200, 'OK', { toTag: 'peer1', contactPort: peer.port, body: sdp(6000) }), engine.local.port);
  await waitFor('second ACK', () => peer.matching(/^ACK /).length === 2);

  const ended: string[] = [];
  dialog.on('destroy', (reason) => ended.push(reason));
  await assert.rejects(dialog.request('INFO'), is(408));
  // A peer that answers nothing is gone: the dialog ends (RFC 3261 §12.2.1.2).
  assert.deepEqual(ended, ['transport-error']);
  assert.equal(dialog.destroyed, true);
  const infos = peer.matching(/^INFO /);
  // E: 20, 40, 80, then every T2=160 ms until F at 1280 ms: at most 11 sends.
  assert.ok(infos.length >= 5 && infos.length <= 11, `${infos.length} INFOs`);
  assert.equal(new Set(infos.map(branchOf)).size, 1);
  assert.equal(headerOf(infos[0] ?? '', 'CSeq'), '2 INFO');
  await dialog.destroy();
  assert.equal(peer.matching(/^BYE /).length, 0, 'no BYE into the void');
  assert.equal(engine.stats.dialogs, 0);
  await waitFor('transactions end', () => engine.stats.transactions === 0);
});

test('a non-2xx final is ACKed by the INVITE transaction with its own branch, again on retransmission', async () => {
  const { engine, peer } = await setup();
  peer.socket.on('message', (m) => {
    const text = m.toString();
    if (text.startsWith('INVITE ')) void peer.send(rawResponse(text, 486, 'Busy Here', { toTag: 'busy' }), engine.local.port);
  });
  await assert.rejects(engine.createUAC(`sip:x@127.0.0.1:${peer.port}`, { localSdp: sdp(5000) }), is(486));
  await waitFor('ACK', () => peer.matching(/^ACK /).length >= 1);
  const invite = peer.matching(/^INVITE /)[0] ?? '';
  const ack = peer.matching(/^ACK /)[0] ?? '';
  assert.equal(branchOf(ack), branchOf(invite));
  assert.equal(headerOf(ack, 'CSeq'), '1 ACK');
  assert.match(headerOf(ack, 'To') ?? '', /tag=busy/);
  await peer.send(rawResponse(invite, 486, 'Busy Here', { toTag: 'busy' }), engine.local.port);
  await waitFor('re-ACK', () => peer.matching(/^ACK /).length >= 2);
  await waitFor('Timer D', () => engine.stats.transactions === 0);
});

test('CANCEL after 180 uses the INVITE branch; a 200 racing it is ACKed and hung up, the call rejects 487', async () => {
  const { engine, peer } = await setup();
  const ac = new AbortController();
  peer.socket.on('message', (m) => {
    const text = m.toString();
    if (text.startsWith('INVITE ') && peer.matching(/^INVITE /).length === 1) {
      void peer.send(rawResponse(text, 180, 'Ringing', { toTag: 'r1' }), engine.local.port);
    } else if (text.startsWith('CANCEL ')) {
      void peer.send(rawResponse(text, 200, 'OK', { toTag: 'r1' }), engine.local.port);
      // The callee answered before it saw the CANCEL.
      const invite = peer.matching(/^INVITE /)[0] ?? '';
      void peer.send(rawResponse(invite, 200, 'OK', { toTag: 'r1', contactPort: peer.port, body: sdp(6000) }), engine.local.port);
    } else if (text.startsWith('BYE ')) {
      void peer.send(rawResponse(text, 200, 'OK'), engine.local.port);
    }
  });
  const call = engine.createUAC(`sip:x@127.0.0.1:${peer.port}`, { localSdp: sdp(5000), signal: ac.signal, onProvisional: () => ac.abort() });
  await assert.rejects(call, is(487));
  await waitFor('ACK and BYE', () => peer.matching(/^ACK /).length >= 1 && peer.matching(/^BYE /).length >= 1);
  const invite = peer.matching(/^INVITE /)[0] ?? '';
  const cancel = peer.matching(/^CANCEL /)[0] ?? '';
  assert.equal(branchOf(cancel), branchOf(invite));
  assert.equal(headerOf(cancel, 'CSeq'), '1 CANCEL');
  assert.equal(headerOf(cancel, 'To'), headerOf(invite, 'To'));
  await waitFor('all ended', () => engine.stats.dialogs === 0 && engine.stats.transactions === 0);
});

test('abort before any provisional, and none ever comes: no CANCEL, Timer B ends it with 487', async () => {
  const { engine, peer } = await setup();
  const ac = new AbortController();
  const call = engine.createUAC(`sip:x@127.0.0.1:${peer.port}`, { localSdp: sdp(5000), signal: ac.signal });
  await waitFor('INVITE', () => peer.matching(/^INVITE /).length >= 1);
  ac.abort();
  await assert.rejects(call, is(487));
  assert.equal(peer.matching(/^CANCEL /).length, 0, 'no CANCEL before a provisional (RFC 3261 §9.1)');
  assert.equal(engine.stats.transactions, 0);
});

test('TCP: calls to the same peer share one outgoing connection, responses come back on it', async () => {
  const engine = await startEngine();
  cleanup.push(() => engine.close());
  let accepted = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    accepted++;
    sockets.push(s);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      // Each INVITE here has no body after the blank line (localSdp ''), so a message ends at CRLFCRLF.
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const msg = buf.slice(0, end + 4);
        buf = buf.slice(end + 4);
        if (msg.startsWith('INVITE ')) s.write(rawResponse(msg, 486, 'Busy Here', { toTag: 'b' }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  const port = (server.address() as net.AddressInfo).port;
  for (let i = 0; i < 3; i++) {
    await assert.rejects(engine.createUAC(`sip:x@127.0.0.1:${port};transport=tcp`, { localSdp: '' }), is(486));
  }
  assert.equal(accepted, 1);
  await waitFor('Timer D is 0 over TCP', () => engine.stats.transactions === 0);
});
