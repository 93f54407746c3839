/** Plain UDP sockets playing the far ends of media legs in the media tests. */
import { createSocket, type Socket } from 'node:dgram';

export interface Received {
  readonly data: Buffer;
  readonly address: string;
  readonly port: number;
}

export interface UdpPeer {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  readonly received: Received[];
  send(data: Buffer, port: number, address?: string): Promise<void>;
  /** Resolves once `count` datagrams in all have arrived. */
  waitFor(count: number): Promise<void>;
  close(): void;
}

export async function udpPeer(address = '127.0.0.1'): Promise<UdpPeer> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const received: Received[] = [];
  socket.on('message', (data, rinfo) => received.push({ data, address: rinfo.address, port: rinfo.port }));
  let closed = false;
  return {
    socket,
    address,
    port: socket.address().port,
    received,
    send: (data, port, to = '127.0.0.1') =>
      new Promise((resolve, reject) => socket.send(data, port, to, (err) => (err ? reject(err) : resolve()))),
    waitFor: (count) => until(() => received.length >= count, `${count} datagrams at ${address}:${socket.address().port} (have ${received.length})`),
    close: () => {
      if (!closed) socket.close();
      closed = true;
    },
  };
}

/** Polls `condition` until it holds; fails after a generous bound so a lost packet fails the test instead of hanging it. */
export async function until(condition: () => boolean, what: string, boundMs = 5000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * An even port base in a range no other media test uses, different per run.
 * A slot spans 450 ports (a base among the first 400, and up to 41 ports
 * above it), so slots 0-21 stay within 20000-29899: below SIPp's media ports
 * (30100 up) and the call tests' gateway RTP ranges (40000 up), which test
 * files running at the same time use.
 */
export function testPortBase(slot: number): number {
  if (slot > 21) throw new RangeError(`testPortBase: slot ${slot} would reach SIPp's media ports`);
  return 20000 + slot * 450 + 2 * Math.floor(Math.random() * 200);
}
