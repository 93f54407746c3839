import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { PCMA_SILENCE, PCMU_SILENCE } from '../../src/media/g711.js';
import { MediaLeg } from '../../src/media/leg.js';
import { Pacer, play } from '../../src/media/player.js';
import { PortAllocator } from '../../src/media/ports.js';
import { newRtpView, parseRtp, type RtpView } from '../../src/media/rtp.js';
import { testPortBase, udpPeer, until, type UdpPeer } from './udp.js';

async function legTo(t: TestContext, slot: number): Promise<{ leg: MediaLeg; phone: UdpPeer; allocator: PortAllocator }> {
  const base = testPortBase(slot);
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + 9 });
  const leg = await MediaLeg.open(allocator, { name: 'caller', address: '127.0.0.1' });
  const phone = await udpPeer();
  t.after(() => (leg.close(), phone.close()));
  leg.setRemote({ address: '127.0.0.1', port: phone.port });
  return { leg, phone, allocator };
}

function views(packets: Buffer[]): RtpView[] {
  return packets.map((p) => {
    const v = newRtpView();
    assert.ok(parseRtp(p, v), 'valid RTP');
    return v;
  });
}

function audioOf(length: number): Buffer {
  // Values that are neither law's silence, so padding is told apart from audio.
  return Buffer.from(Array.from({ length }, (_, i) => 0x10 + (i % 0x60)));
}

for (const [payloadType, silence] of [[0, PCMU_SILENCE], [8, PCMA_SILENCE]] as const) {
  void test(`PT ${payloadType}: 160-byte frames, sequence +1, timestamp +160, marker first, the last frame padded with silence`, async (t) => {
    const { leg, phone } = await legTo(t, 15 + payloadType / 8);
    const pacer = new Pacer();
    const audio = audioOf(1000);
    const outcome = await play(leg, audio, { payloadType, pacer });
    assert.equal(outcome, 'done');
    const count = Math.ceil(audio.length / 160);
    assert.equal(leg.counters.sent, count, 'all packets were out when play resolved');
    await phone.waitFor(count);
    const packets = phone.received.map((r) => r.data);
    assert.equal(packets.length, count);
    const v = views(packets);
    const first = v[0];
    assert.ok(first);
    v.forEach((h, i) => {
      assert.equal(h.payloadType, payloadType);
      assert.equal(h.payloadLength, 160);
      assert.equal(h.payloadOffset, 12);
      assert.equal(h.marker, i === 0, `marker on packet ${i}`);
      assert.equal(h.ssrc, first.ssrc);
      assert.equal(h.sequence, (first.sequence + i) & 0xffff);
      assert.equal(h.timestamp, (first.timestamp + 160 * i) >>> 0);
    });
    const payload = Buffer.concat(packets.map((p) => p.subarray(12)));
    const expected = Buffer.concat([audio, Buffer.alloc(count * 160 - audio.length, silence)]);
    assert.deepEqual(payload, expected);
    assert.equal(pacer.running, false, 'the pacer stops when nothing plays');
  });
}

test('each playback starts from a fresh random SSRC, sequence and timestamp', async (t) => {
  const { leg, phone } = await legTo(t, 17);
  await play(leg, audioOf(160), { payloadType: 8 });
  await play(leg, audioOf(160), { payloadType: 8 });
  await phone.waitFor(2);
  const [a, b] = views(phone.received.map((r) => r.data));
  assert.ok(a && b);
  assert.notEqual(a.ssrc, b.ssrc);
  assert.ok(a.marker && b.marker);
});

test('abort stops playback early, and nothing is sent after', async (t) => {
  const { leg, phone } = await legTo(t, 18);
  const pacer = new Pacer();
  const controller = new AbortController();
  const audio = audioOf(160 * 250); // five seconds
  const playing = play(leg, audio, { payloadType: 8, signal: controller.signal, pacer });
  await phone.waitFor(3);
  controller.abort();
  assert.equal(await playing, 'aborted');
  const sent = leg.counters.sent;
  assert.ok(sent >= 3 && sent < 250, `${sent} packets sent`);
  assert.equal(pacer.active, 0);
  assert.equal(pacer.running, false);
  // A few ticks later still nothing more went out.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(leg.counters.sent, sent);

  const already = AbortSignal.abort();
  assert.equal(await play(leg, audio, { payloadType: 8, signal: already, pacer }), 'aborted');
  assert.equal(leg.counters.sent, sent, 'an aborted signal sends nothing');
  assert.equal(await play(leg, Buffer.alloc(0), { payloadType: 8, pacer }), 'done', 'empty audio is done at once');
});

test('closing the leg ends its playback', async (t) => {
  const { leg, phone } = await legTo(t, 19);
  const pacer = new Pacer();
  const playing = play(leg, audioOf(160 * 250), { payloadType: 0, pacer });
  await phone.waitFor(2);
  leg.close();
  assert.equal(await playing, 'aborted');
  assert.equal(pacer.running, false);
});

test('players sharing one pacer each play their whole audio, interleaved', async (t) => {
  const a = await legTo(t, 20);
  const b = await legTo(t, 21);
  const pacer = new Pacer();
  const [ra, rb] = await Promise.all([
    play(a.leg, audioOf(160 * 10), { payloadType: 8, pacer }),
    play(b.leg, audioOf(160 * 4 + 1), { payloadType: 8, pacer }),
  ]);
  assert.deepEqual([ra, rb], ['done', 'done']);
  await until(() => a.phone.received.length === 10 && b.phone.received.length === 5, 'all packets');
  assert.equal(pacer.running, false);
});

test('after a stalled event loop the pacer catches up by at most three packets, then runs at one per tick', async () => {
  const pacer = new Pacer();
  const bursts: number[] = [];
  await new Promise<void>((resolve) => {
    pacer.add({
      tick(packets) {
        bursts.push(packets);
        if (bursts.length === 3) {
          const until = performance.now() + 200; // ten ticks' worth of stall
          while (performance.now() < until);
        }
        const more = bursts.length < 8;
        if (!more) resolve();
        return more;
      },
    });
  });
  assert.equal(bursts[3], 3, `the tick after the stall sends the burst cap: ${bursts.join(',')}`);
  assert.ok(bursts.every((n) => n >= 1 && n <= 3), bursts.join(','));
  assert.equal(pacer.running, false);
});
