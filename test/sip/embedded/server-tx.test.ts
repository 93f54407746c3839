/** Server transactions against a raw socket peer: response retransmission and ACK handling on the wire. */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedSipEngine } from '../../../src/sip/embedded/engine.js';
import type { SipRequest, SipResponse } from '../../../src/sip/engine.js';
import { SipError } from '../../../src/sip/errors.js';
import { headerOf, RawUdpPeer, rawRequest, sdp, startEngine, waitFor } from '../helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function setup(): Promise<{ engine: EmbeddedSipEngine; peer: RawUdpPeer; invites: Array<[SipRequest, SipResponse]> }> {
  const engine = await startEngine();
  const peer = await RawUdpPeer.open();
  const invites: Array<[SipRequest, SipResponse]> = [];
  engine.on('invite', (req, res) => invites.push([req, res]));
  cleanup.push(() => engine.close(), () => peer.close());
  return { engine, peer, invites };
}

test('100 Trying at once; a retransmitted INVITE gets the last response again and no second invite event', async () => {
  const { engine, peer, invites } = await setup();
  const invite = rawRequest({ method: 'INVITE', port: peer.port, body: sdp(6000) });
  await peer.send(invite, engine.local.port);
  await waitFor('100', () => peer.matching(/^SIP\/2\.0 100 /).length === 1);
  await peer.send(invite, engine.local.port);
  await waitFor('second 100', () => peer.matching(/^SIP\/2\.0 100 /).length === 2);
  invites[0]?.[1].send(180);
  await waitFor('180', () => peer.matching(/^SIP\/2\.0 180 /).length === 1);
  await peer.send(invite, engine.local.port);
  await waitFor('180 again', () => peer.matching(/^SIP\/2\.0 180 /).length === 2);
  assert.equal(invites.length, 1);
  const trying = peer.matching(/^SIP\/2\.0 100 /)[0] ?? '';
  assert.equal(headerOf(trying, 'To'), '<sip:1000@127.0.0.1>', '100 Trying carries no To-tag');
  assert.match(headerOf(trying, 'Via') ?? '', new RegExp(`;rport=${peer.port};received=127\\.0\\.0\\.1$`));
  const ringing = peer.matching(/^SIP\/2\.0 180 /)[0] ?? '';
  assert.match(headerOf(ringing, 'Contact') ?? '', /^<sip:recgw@127\.0\.0\.1:\d+>$/);
  assert.equal(headerOf(ringing, 'Server'), 'recgw');
  invites[0]?.[1].send(480);
});

test('a non-2xx final is retransmitted (Timer G) until Timer H when no ACK comes', async () => {
  const { engine, peer, invites } = await setup();
  await peer.send(rawRequest({ method: 'INVITE', port: peer.port }), engine.local.port);
  await waitFor('invite', () => invites.length === 1);
  invites[0]?.[1].send(486);
  await waitFor('Timer H', () => engine.stats.transactions === 0);
  const finals = peer.matching(/^SIP\/2\.0 486 /);
  // G: 20, 40, 80, then every 160 ms until H at 1280 ms.
  assert.ok(finals.length >= 4 && finals.length <= 11, `${finals.length} copies of 486`);
  assert.equal(new Set(finals).size, 1);
});

test('the ACK for a non-2xx stops retransmission and ends the transaction after Timer I', async () => {
  const { engine, peer, invites } = await setup();
  const invite = rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-ack-1' });
  await peer.send(invite, engine.local.port);
  await waitFor('invite', () => invites.length === 1);
  invites[0]?.[1].send(603);
  await waitFor('603', () => peer.matching(/^SIP\/2\.0 603 /).length === 1);
  const toTag = /tag=(\w+)/.exec(headerOf(peer.matching(/^SIP\/2\.0 603 /)[0] ?? '', 'To') ?? '')?.[1];
  await peer.send(rawRequest({ method: 'ACK', port: peer.port, branch: 'z9hG4bK-ack-1', ...(toTag ? { toTag } : {}) }), engine.local.port);
  await waitFor('Timer I', () => engine.stats.transactions === 0);
  const seen = peer.matching(/^SIP\/2\.0 603 /).length;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(peer.matching(/^SIP\/2\.0 603 /).length, seen, 'no retransmission after the ACK');
  assert.equal(engine.stats.dropped, 0, 'the ACK was absorbed, not dropped');
});

test('createUAS: the 200 is retransmitted until the ACK, which confirms the dialog', async () => {
  const { engine, peer, invites } = await setup();
  await peer.send(rawRequest({ method: 'INVITE', port: peer.port, body: sdp(6000), extra: ['Record-Route: <sip:proxy@127.0.0.1:' + String(peer.port) + ';lr>'] }), engine.local.port);
  await waitFor('invite', () => invites.length === 1);
  const [req, res] = invites[0] ?? assert.fail();
  res.send(183, { body: sdp(5000) });
  const uas = engine.createUAS(req, res, { localSdp: sdp(5000) });
  await waitFor('200 retransmitted', () => peer.matching(/^SIP\/2\.0 200 /).length >= 3);
  const ok = peer.matching(/^SIP\/2\.0 200 /)[0] ?? '';
  const toTag = /tag=(\w+)/.exec(headerOf(ok, 'To') ?? '')?.[1] ?? '';
  const early = peer.matching(/^SIP\/2\.0 183 /)[0] ?? '';
  assert.equal(headerOf(early, 'To'), headerOf(ok, 'To'), 'the 183 and the 200 name the same dialog');
  assert.match(headerOf(ok, 'Contact') ?? '', /^<sip:recgw@127\.0\.0\.1:\d+>$/);
  assert.equal(headerOf(ok, 'Content-Type'), 'application/sdp');
  await peer.send(rawRequest({ method: 'ACK', port: peer.port, branch: 'z9hG4bK-new-ack', toTag }), engine.local.port);
  const dialog = await uas;
  assert.equal(dialog.local.tag, toTag);
  assert.equal(dialog.remote.tag, 'from1');
  assert.equal(dialog.remote.sdp, sdp(6000));
  // In-dialog requests follow the Record-Route and carry it as Route.
  const bye = dialog.destroy();
  await waitFor('BYE', () => peer.matching(/^BYE /).length >= 1);
  const byeText = peer.matching(/^BYE /)[0] ?? '';
  assert.match(byeText, new RegExp(`^BYE sip:caller@127\\.0\\.0\\.1:${peer.port} SIP/2\\.0`));
  assert.equal(headerOf(byeText, 'Route'), `<sip:proxy@127.0.0.1:${peer.port};lr>`);
  assert.equal(headerOf(byeText, 'CSeq'), '1 BYE');
  await peer.send(`SIP/2.0 200 OK\r\n${byeText.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, engine.local.port);
  await bye;
  await waitFor('all ended', () => engine.stats.transactions === 0 && engine.stats.dialogs === 0);
});

test('createUAS without an ACK: rejects 408 after 64*T1 and sends BYE', async () => {
  const { engine, peer, invites } = await setup();
  await peer.send(rawRequest({ method: 'INVITE', port: peer.port, body: sdp(6000) }), engine.local.port);
  await waitFor('invite', () => invites.length === 1);
  const [req, res] = invites[0] ?? assert.fail();
  await assert.rejects(engine.createUAS(req, res, { localSdp: sdp(5000) }), (e: unknown) => e instanceof SipError && e.status === 408);
  const oks = peer.matching(/^SIP\/2\.0 200 /).length;
  assert.ok(oks >= 4 && oks <= 11, `${oks} copies of 200`);
  await waitFor('BYE', () => peer.matching(/^BYE /).length >= 1);
  assert.equal(engine.stats.dialogs, 0);
});

test('a retransmitted OPTIONS gets the same 200 (same To-tag); Timer J then ends it', async () => {
  const { engine, peer } = await setup();
  const options = rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-opt' });
  await peer.send(options, engine.local.port);
  await peer.send(options, engine.local.port);
  await waitFor('two 200', () => peer.matching(/^SIP\/2\.0 200 /).length === 2);
  const [a, b] = peer.matching(/^SIP\/2\.0 200 /);
  assert.equal(a, b);
  assert.match(headerOf(a ?? '', 'Allow') ?? '', /INVITE, ACK, CANCEL, BYE/);
  assert.equal(headerOf(a ?? '', 'Accept'), 'application/sdp');
  assert.equal(engine.stats.transactions, 1);
  await waitFor('Timer J', () => engine.stats.transactions === 0);
});

test('a re-INVITE answered 200 without an ACK ends the dialog with ack-timeout and a BYE', async () => {
  const { engine, peer, invites } = await setup();
  await peer.send(rawRequest({ method: 'INVITE', port: peer.port, body: sdp(6000) }), engine.local.port);
  await waitFor('invite', () => invites.length === 1);
  const [req, res] = invites[0] ?? assert.fail();
  const uas = engine.createUAS(req, res, { localSdp: sdp(5000) });
  await waitFor('200', () => peer.matching(/^SIP\/2\.0 200 /).length >= 1);
  const toTag = /tag=(\w+)/.exec(headerOf(peer.matching(/^SIP\/2\.0 200 /)[0] ?? '', 'To') ?? '')?.[1] ?? '';
  await peer.send(rawRequest({ method: 'ACK', port: peer.port, branch: 'z9hG4bK-ack-a', toTag }), engine.local.port);
  const dialog = await uas;
  const ended = new Promise<string>((resolve) => dialog.on('destroy', (reason) => resolve(reason)));
  const okBefore = peer.matching(/^SIP\/2\.0 200 /).length;
  await peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-reinvite', toTag, cseq: 2, body: sdp(6000, 'sendonly') }), engine.local.port);
  assert.equal(await ended, 'ack-timeout');
  // No 'modify' listener: the engine answered with the current local SDP.
  const reOk = peer.matching(/^SIP\/2\.0 200 /).slice(okBefore);
  assert.ok(reOk.length >= 2, 'the 200 to the re-INVITE was retransmitted');
  assert.ok(reOk[0]?.endsWith(sdp(5000)));
  assert.equal(dialog.remote.sdp, sdp(6000, 'sendonly'));
  await waitFor('BYE', () => peer.matching(/^BYE /).length >= 1);
});
