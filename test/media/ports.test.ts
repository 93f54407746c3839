import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { MediaError } from '../../src/media/errors.js';
import { PortAllocator } from '../../src/media/ports.js';
import { testPortBase } from './udp.js';

function bindForeign(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

test('a pair is an even RTP port and the next one for RTCP, both bound, and close frees it', async () => {
  const base = testPortBase(1);
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base + 1, portMax: base + 40 });
  const pair = await allocator.allocate();
  assert.equal(pair.port % 2, 0);
  assert.ok(pair.port >= base + 2 && pair.port + 1 <= base + 40, `${pair.port} in range`);
  assert.deepEqual(pair.rtp.address(), { address: '127.0.0.1', family: 'IPv4', port: pair.port });
  assert.equal(pair.rtcp.address().port, pair.port + 1);
  assert.equal(allocator.inUse, 1);
  pair.close();
  pair.close();
  assert.equal(allocator.inUse, 0, 'closing twice releases once');
  // Really released: another socket can bind both ports now.
  const again = [await bindForeign(pair.port), await bindForeign(pair.port + 1)];
  for (const s of again) s.close();
});

test('the range is walked round-robin: a just-freed pair is not handed out again at once', async () => {
  const base = testPortBase(2);
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + 11 });
  const first = await allocator.allocate();
  first.close();
  const second = await allocator.allocate();
  assert.notEqual(second.port, first.port);
  const concurrent = await Promise.all([allocator.allocate(), allocator.allocate(), allocator.allocate()]);
  const ports = new Set([second.port, ...concurrent.map((p) => p.port)]);
  assert.equal(ports.size, 4, 'concurrent allocations get distinct pairs');
  assert.equal(allocator.inUse, 4);
  second.close();
  for (const p of concurrent) p.close();
  assert.equal(allocator.inUse, 0);
});

test('a tiny range runs out with PORTS_EXHAUSTED, and recovers when a pair is freed', async () => {
  const base = testPortBase(3);
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + 3 });
  assert.equal(allocator.capacity, 2);
  const a = await allocator.allocate();
  const b = await allocator.allocate();
  await assert.rejects(allocator.allocate(), (err: unknown) => {
    assert.ok(err instanceof MediaError);
    assert.equal(err.code, 'PORTS_EXHAUSTED');
    assert.match(err.message, new RegExp(`${base}-${base + 3}`));
    return true;
  });
  assert.equal(allocator.inUse, 2);
  a.close();
  const c = await allocator.allocate();
  assert.equal(c.port, a.port);
  b.close();
  c.close();
  assert.equal(allocator.inUse, 0);
});

test('ports held by another socket are skipped, RTP or RTCP alike', async () => {
  const base = testPortBase(4);
  // Three pairs: the first's RTP port and the second's RTCP port are taken by someone else.
  const foreign = [await bindForeign(base), await bindForeign(base + 3)];
  try {
    const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + 5 });
    const pair = await allocator.allocate();
    assert.equal(pair.port, base + 4);
    await assert.rejects(allocator.allocate(), { code: 'PORTS_EXHAUSTED' });
    // The half-bound second pair was let go: its RTP port is free again.
    const probe = await bindForeign(base + 2);
    probe.close();
    pair.close();
    assert.equal(allocator.inUse, 0);
  } finally {
    for (const s of foreign) s.close();
  }
});

test('an impossible range is refused at construction', () => {
  assert.throws(() => new PortAllocator({ address: '127.0.0.1', portMin: 30000, portMax: 20000 }), RangeError);
  assert.throws(() => new PortAllocator({ address: '127.0.0.1', portMin: 0, portMax: 70000 }), RangeError);
  assert.equal(new PortAllocator({ address: '127.0.0.1', portMin: 30001, portMax: 30002 }).capacity, 0);
});
