import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test, type TestContext } from 'node:test';
import { bridge, MediaLeg, unbridge } from '../../src/media/leg.js';
import { PortAllocator } from '../../src/media/ports.js';
import { writeRtpHeader, type RtpView } from '../../src/media/rtp.js';
import { testPortBase, udpPeer, until, type UdpPeer } from './udp.js';

let sequence = 0;
/** A distinct, valid RTP packet each call. */
function rtp(tag: number, payloadType = 8): Buffer {
  const buf = Buffer.alloc(12 + 160, tag & 0xff);
  sequence = (sequence + 1) & 0xffff;
  writeRtpHeader(buf, { marker: false, payloadType, sequence, timestamp: sequence * 160, ssrc: 0x1000 + tag });
  return buf;
}

/** A minimal RTCP receiver report. */
function rtcp(tag: number): Buffer {
  const buf = Buffer.alloc(8);
  buf[0] = 0x80;
  buf[1] = 201;
  buf.writeUInt16BE(1, 2);
  buf.writeUInt32BE(tag, 4);
  return buf;
}

interface Peer {
  rtp: UdpPeer;
  rtcp: UdpPeer;
}

interface Setup {
  allocator: PortAllocator;
  caller: MediaLeg;
  agent: MediaLeg;
  a: Peer;
  b: Peer;
  peer: (address?: string) => Promise<Peer>;
}

async function setup(t: TestContext, slot: number): Promise<Setup> {
  const base = testPortBase(slot);
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + 20 });
  const peers: UdpPeer[] = [];
  const peer = async (address = '127.0.0.1'): Promise<Peer> => {
    const p = { rtp: await udpPeer(address), rtcp: await udpPeer(address) };
    peers.push(p.rtp, p.rtcp);
    return p;
  };
  const caller = await MediaLeg.open(allocator, { name: 'caller', address: '127.0.0.1' });
  const agent = await MediaLeg.open(allocator, { name: 'agent', address: '127.0.0.1' });
  t.after(() => {
    caller.close();
    agent.close();
    for (const p of peers) p.close();
  });
  const a = await peer();
  const b = await peer();
  caller.setRemote({ address: '127.0.0.1', port: a.rtp.port, rtcpPort: a.rtcp.port });
  agent.setRemote({ address: '127.0.0.1', port: b.rtp.port, rtcpPort: b.rtcp.port });
  bridge(caller, agent);
  return { allocator, caller, agent, a, b, peer };
}

/**
 * Proves a packet sent before it was not relayed: a valid packet sent after
 * the suspect one through the same leg arrives alone (loopback keeps one
 * socket pair's order, and the leg decides synchronously on receipt).
 */
async function assertOnlyMarkerArrives(from: UdpPeer, leg: MediaLeg, to: UdpPeer): Promise<void> {
  const before = to.received.length;
  const marker = rtp(0x7e);
  await from.send(marker, leg.localPort);
  await to.waitFor(before + 1);
  assert.equal(to.received.length, before + 1);
  assert.deepEqual(to.received.at(-1)?.data, marker, 'only the marker came through');
}

test('bridged legs relay RTP and RTCP both ways, byte for byte, and tap what they accept', async (t) => {
  const { caller, agent, a, b } = await setup(t, 5);
  const tapped: Array<{ packet: Buffer; payloadType: number; payloadLength: number }> = [];
  caller.tap = (packet: Buffer, view: RtpView) => tapped.push({ packet: Buffer.from(packet), payloadType: view.payloadType, payloadLength: view.payloadLength });

  const fromA = [rtp(1), rtp(2), rtp(3, 101)];
  const fromB = [rtp(4), rtp(5)];
  for (const p of fromA) await a.rtp.send(p, caller.localPort);
  for (const p of fromB) await b.rtp.send(p, agent.localPort);
  await b.rtp.waitFor(fromA.length);
  await a.rtp.waitFor(fromB.length);
  assert.deepEqual(b.rtp.received.map((r) => r.data), fromA);
  assert.deepEqual(a.rtp.received.map((r) => r.data), fromB);
  // Symmetric RTP: each peer hears the other out of the port it sends to.
  assert.ok(b.rtp.received.every((r) => r.port === agent.localPort));
  assert.ok(a.rtp.received.every((r) => r.port === caller.localPort));
  assert.deepEqual(tapped.map((x) => x.packet), fromA, 'the tap saw each accepted packet');
  assert.deepEqual(tapped.map((x) => x.payloadType), [8, 8, 101]);
  assert.ok(tapped.every((x) => x.payloadLength === 160));

  await a.rtcp.send(rtcp(11), caller.localPort + 1);
  await b.rtcp.send(rtcp(12), agent.localPort + 1);
  await b.rtcp.waitFor(1);
  await a.rtcp.waitFor(1);
  assert.deepEqual(b.rtcp.received[0]?.data, rtcp(11));
  assert.deepEqual(a.rtcp.received[0]?.data, rtcp(12));
  assert.equal(b.rtcp.received[0]?.port, agent.localPort + 1);
  assert.equal(tapped.length, fromA.length, 'RTCP is never tapped');

  assert.deepEqual(caller.counters, { received: 3, accepted: 3, droppedSource: 0, malformed: 0, relayed: 3, sent: 2, rtcpReceived: 1, rtcpRelayed: 1 });
  assert.deepEqual(agent.counters, { received: 2, accepted: 2, droppedSource: 0, malformed: 0, relayed: 2, sent: 3, rtcpReceived: 1, rtcpRelayed: 1 });
  assert.deepEqual(caller.latchedTo, { address: '127.0.0.1', port: a.rtp.port });
});

test('packets from another host, or another port once latched, are neither relayed nor tapped', async (t) => {
  const { caller, agent, a, b, peer } = await setup(t, 6);
  let tapped = 0;
  caller.tap = () => tapped++;
  const elsewhere = await peer('127.0.0.2');
  const samehost = await peer('127.0.0.1');

  // Before latching, a foreign host is refused too.
  await elsewhere.rtp.send(rtp(20), caller.localPort);
  await until(() => caller.counters.received === 1, 'the injected packet');
  assert.equal(caller.latchedTo, null, 'a foreign host does not latch');
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  assert.deepEqual(caller.latchedTo, { address: '127.0.0.1', port: a.rtp.port });

  // Latched: the peer's host from another port is refused, and so are the other host's RTP and RTCP.
  await samehost.rtp.send(rtp(21), caller.localPort);
  await elsewhere.rtp.send(rtp(22), caller.localPort);
  await elsewhere.rtcp.send(rtcp(23), caller.localPort + 1);
  await until(() => caller.counters.received === 4 && caller.counters.rtcpReceived === 1, 'the injected packets');
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  assert.equal(b.rtcp.received.length, 0, 'foreign RTCP not relayed');
  assert.equal(caller.counters.droppedSource, 4);
  assert.equal(caller.counters.accepted, 2);
  assert.equal(caller.counters.relayed, 2);
  assert.equal(tapped, 2, 'only the peer\'s own packets were tapped');

  // The other direction still goes to the latched peer, not to whoever sent last.
  await b.rtp.send(rtp(24), agent.localPort);
  await a.rtp.waitFor(1);
  assert.equal(samehost.rtp.received.length + elsewhere.rtp.received.length, 0);
});

test('a leg without a remote accepts nothing', async (t) => {
  const { caller, agent, a, b } = await setup(t, 7);
  caller.setRemote(null);
  await a.rtp.send(rtp(30), caller.localPort);
  await until(() => caller.counters.received === 1, 'the packet');
  assert.equal(caller.counters.droppedSource, 1);
  caller.setRemote({ address: '127.0.0.1', port: a.rtp.port, rtcpPort: a.rtcp.port });
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  assert.equal(agent.counters.sent, 1);
});

test('a new remote (re-INVITE) re-latches: the new source is accepted and the old one refused', async (t) => {
  const { caller, agent, a, b, peer } = await setup(t, 8);
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  const moved = await peer();
  caller.setRemote({ address: '127.0.0.1', port: moved.rtp.port });
  assert.equal(caller.latchedTo, null);
  await assertOnlyMarkerArrives(moved.rtp, caller, b.rtp);
  assert.deepEqual(caller.latchedTo, { address: '127.0.0.1', port: moved.rtp.port });
  await a.rtp.send(rtp(31), caller.localPort);
  await until(() => caller.counters.droppedSource === 1, 'the old source refused');
  await assertOnlyMarkerArrives(moved.rtp, caller, b.rtp);
  // Audio for the caller now goes to the new endpoint.
  const toCaller = rtp(32);
  await b.rtp.send(toCaller, agent.localPort);
  await moved.rtp.waitFor(1);
  assert.deepEqual(moved.rtp.received[0]?.data, toCaller);
  assert.equal(a.rtp.received.length, 0);
});

test('on hold (0.0.0.0, port 0, or no remote) a leg sends nothing, relayed or played', async (t) => {
  const { caller, agent, a, b } = await setup(t, 9);
  const holds = [{ address: '0.0.0.0', port: a.rtp.port }, { address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 70000 }, null];
  for (const [i, hold] of holds.entries()) {
    caller.setRemote(hold);
    await b.rtp.send(rtp(40), agent.localPort);
    await until(() => agent.counters.accepted === i + 1, 'the agent packet');
    caller.send(rtp(41));
    assert.equal(caller.counters.sent, 0, `nothing sent on hold ${JSON.stringify(hold)}`);
    assert.equal(agent.counters.relayed, 0, 'not counted as relayed');
  }
  // Back off hold: a packet from the agent now reaches the caller, and it alone.
  caller.setRemote({ address: '127.0.0.1', port: a.rtp.port });
  await assertOnlyMarkerArrives(b.rtp, agent, a.rtp);
  assert.equal(caller.counters.sent, 1);
  assert.equal(agent.counters.accepted, holds.length + 1);
});

test('a malformed packet from the right source is counted, not relayed, and does not latch', async (t) => {
  const { caller, a, b, peer } = await setup(t, 10);
  const other = await peer();
  // Garbage from the peer's host first: it must not pick the latched port.
  await other.rtp.send(Buffer.from('not rtp at all'), caller.localPort);
  await other.rtp.send(Buffer.from([0x80, 0x08, 0, 1, 0]), caller.localPort);
  await other.rtcp.send(Buffer.from([0x80, 0xc9]), caller.localPort + 1);
  await until(() => caller.counters.malformed === 3, 'the malformed packets');
  assert.equal(caller.latchedTo, null);
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  assert.deepEqual(caller.latchedTo, { address: '127.0.0.1', port: a.rtp.port });
  // After latching, a short packet from the latched source is malformed, not foreign.
  await a.rtp.send(Buffer.alloc(4, 0x80), caller.localPort);
  await until(() => caller.counters.malformed === 4, 'the short packet');
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  assert.equal(caller.counters.droppedSource, 0);
  assert.equal(caller.counters.relayed, 2);
  assert.equal(b.rtcp.received.length, 0);
});

test('a tap that throws does not stop the relay', async (t) => {
  const { caller, a, b } = await setup(t, 11);
  caller.tap = () => {
    throw new Error('consumer bug');
  };
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);
});

test('unbridge stops the relay; close is idempotent and frees the ports', async (t) => {
  const { allocator, caller, agent, a, b } = await setup(t, 12);
  assert.equal(allocator.inUse, 2);
  unbridge(caller, agent);
  assert.equal(caller.bridged, false);
  await a.rtp.send(rtp(50), caller.localPort);
  await until(() => caller.counters.accepted === 1, 'the packet');
  assert.equal(caller.counters.relayed, 0);
  bridge(caller, agent);
  await assertOnlyMarkerArrives(a.rtp, caller, b.rtp);

  const port = caller.localPort;
  caller.close();
  caller.close();
  assert.equal(agent.bridged, false, 'closing a leg unbridges it');
  caller.send(rtp(51));
  assert.equal(allocator.inUse, 1);
  agent.close();
  assert.equal(allocator.inUse, 0);
  // The ports are really free.
  const probe = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind(port, '127.0.0.1', resolve);
  });
  probe.close();
});

test('a leg cannot be bridged to itself; bridging elsewhere unbridges the old pair', async (t) => {
  const { allocator, caller, agent } = await setup(t, 13);
  assert.throws(() => bridge(caller, caller));
  const third = await MediaLeg.open(allocator, { name: 'agent', address: '127.0.0.1' });
  t.after(() => third.close());
  bridge(caller, third);
  assert.equal(agent.bridged, false);
  assert.equal(third.bridged, true);
});
