import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import test from 'node:test';
import { freePort } from '../../src/cli/free-port.js';

test('ports handed out are distinct, outside the kernel ephemeral range, and bindable for UDP and TCP', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length, 'no port handed out twice, though none of them was bound');
  for (const p of ports) assert.ok(p >= 10000 && p <= 19999, `port ${String(p)} in 10000-19999`);
  const last = ports.at(-1) ?? 0;
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(last, '127.0.0.1', resolve));
  const tcp = createServer();
  await new Promise<void>((resolve) => tcp.listen(last, '127.0.0.1', resolve));
  udp.close();
  await new Promise((resolve) => tcp.close(resolve));
});

test('a port held by someone else (UDP or TCP) is passed over', async () => {
  // The next port in the sequence is the one after the last handed out.
  const before = await freePort();
  const heldUdp = before + 1 > 19999 ? 10000 : before + 1;
  const heldTcp = heldUdp + 1 > 19999 ? 10000 : heldUdp + 1;
  const udp = createSocket('udp4');
  const udpBound = await new Promise<boolean>((resolve) => {
    udp.once('error', () => resolve(false));
    udp.bind(heldUdp, '127.0.0.1', () => resolve(true));
  });
  const tcp = createServer();
  const tcpBound = await new Promise<boolean>((resolve) => {
    tcp.once('error', () => resolve(false));
    tcp.listen(heldTcp, '127.0.0.1', () => resolve(true));
  });
  try {
    assert.ok(udpBound && tcpBound, 'the test holds the next two ports');
    const got = await freePort();
    assert.notEqual(got, heldUdp, 'a port bound for UDP is not handed out');
    assert.notEqual(got, heldTcp, 'a port listened on for TCP is not handed out');
  } finally {
    udp.close();
    await new Promise((resolve) => tcp.close(resolve));
  }
});
