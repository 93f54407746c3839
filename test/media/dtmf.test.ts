import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIPP_PCAP_DIR } from '../../src/cli/sipp.js';
import { DtmfReceiver, eventToDigit, parseTelephoneEvent } from '../../src/media/dtmf.js';
import { MediaLeg } from '../../src/media/leg.js';
import { PortAllocator } from '../../src/media/ports.js';
import { newRtpView, parseRtp } from '../../src/media/rtp.js';
import { readPcapUdpPayloads } from './pcap.js';
import { testPortBase, udpPeer, until } from './udp.js';

const KEYS: Array<[string, string]> = [
  ['0', '0'], ['1', '1'], ['2', '2'], ['3', '3'], ['4', '4'], ['5', '5'],
  ['6', '6'], ['7', '7'], ['8', '8'], ['9', '9'], ['star', '*'], ['pound', '#'],
];

function pcapPackets(key: string): Buffer[] {
  return readPcapUdpPayloads(`${SIPP_PCAP_DIR}/dtmf_2833_${key}.pcap`);
}

/** Feeds RTP packets to a receiver the way a leg's tap would; returns the digits it reported. */
function digitsOf(packets: Buffer[], receiver = new DtmfReceiver()): string {
  const view = newRtpView();
  let digits = '';
  for (const p of packets) {
    assert.ok(parseRtp(p, view), 'a valid RTP packet');
    digits += receiver.onPacket(view, p) ?? '';
  }
  return digits;
}

/** A copy of a packet with another RTP timestamp: the same key pressed again later. */
function retimed(packet: Buffer, delta: number): Buffer {
  const copy = Buffer.from(packet);
  copy.writeUInt32BE((copy.readUInt32BE(4) + delta) >>> 0, 4);
  return copy;
}

test('the captured events parse: one key, growing duration, the end bit on the last three', () => {
  const packets = pcapPackets('1');
  assert.equal(packets.length, 10);
  const view = newRtpView();
  const events = packets.map((p) => {
    assert.ok(parseRtp(p, view));
    assert.equal(view.payloadType, 101);
    return parseTelephoneEvent(p, view.payloadOffset, view.payloadLength);
  });
  assert.ok(events.every((e) => e !== null && e.event === 1 && e.volume === 10));
  assert.deepEqual(events.map((e) => e?.end), [false, false, false, false, false, false, false, true, true, true]);
  const durations = events.map((e) => e?.duration ?? -1);
  assert.ok(durations.every((d, i) => i === 0 || d >= (durations[i - 1] ?? 0)), 'duration never shrinks');
  assert.equal(durations.at(-1), 0x8c0);
});

test('a payload too short for an event, or lying about its length, is no event', () => {
  const p = Buffer.from([0x0b, 0x8a, 0x08, 0xc0]);
  assert.deepEqual(parseTelephoneEvent(p, 0, 4), { event: 11, end: true, volume: 10, duration: 0x8c0 });
  assert.equal(parseTelephoneEvent(p, 0, 3), null);
  assert.equal(parseTelephoneEvent(p, 1, 4), null);
});

test('event codes map to keys', () => {
  assert.equal([...Array(16).keys()].map((e) => eventToDigit(e)).join(''), '0123456789*#ABCD');
  assert.equal(eventToDigit(16), null, 'flash is not a key');
  assert.equal(eventToDigit(-1), null);
});

test('each capture gives its key exactly once, though it is ten packets long', () => {
  for (const [file, key] of KEYS) assert.equal(digitsOf(pcapPackets(file)), key, file);
});

test('all keys in a row are reported in order, once each', () => {
  const packets = KEYS.flatMap(([file], i) => pcapPackets(file).map((p) => retimed(p, i * 8000)));
  assert.equal(digitsOf(packets), '0123456789*#');
});

test('the same key pressed twice is two digits; its retransmissions are not', () => {
  const once = pcapPackets('5');
  const again = once.map((p) => retimed(p, 4000));
  assert.equal(digitsOf([...once, ...once.slice(-3), ...again]), '55');
});

test('a lost first packet does not lose the key', () => {
  assert.equal(digitsOf(pcapPackets('9').slice(1)), '9');
  assert.equal(digitsOf(pcapPackets('9').slice(-1)), '9', 'even the end packet alone');
});

test('an event longer than the 16-bit duration, continued in a new segment, is one key press', () => {
  const first = pcapPackets('7').slice(0, 7); // no end bit yet
  const continued = first.map((p) => retimed(p, 0xffff));
  assert.equal(digitsOf([...first, ...continued]), '7');
});

test('through a real leg: the tap feeds the receiver, one digit per key', async (t) => {
  const base = testPortBase(14);
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + 3 });
  const leg = await MediaLeg.open(allocator, { name: 'caller', address: '127.0.0.1' });
  const phone = await udpPeer();
  t.after(() => (leg.close(), phone.close()));
  leg.setRemote({ address: '127.0.0.1', port: phone.port });
  const receiver = new DtmfReceiver();
  let digits = '';
  leg.tap = (packet, view) => {
    if (view.payloadType === 101) digits += receiver.onPacket(view, packet) ?? '';
  };
  const packets = ['1', '2', 'pound'].flatMap((file, i) => pcapPackets(file).map((p) => retimed(p, i * 8000)));
  for (const p of packets) await phone.send(p, leg.localPort);
  await until(() => leg.counters.accepted === packets.length, 'every event packet');
  assert.equal(digits, '12#');
});
