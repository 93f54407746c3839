/**
 * The SIP fuzzer: a seeded mutator of SIP messages (truncated, bad start lines,
 * duplicated and huge headers, lying Content-Length, binary, stray responses)
 * and drivers that send them over UDP and TCP. Shared by the engine's fuzz
 * test and the gateway's.
 */
import net from 'node:net';
import type { EmbeddedSipEngine } from '../../src/sip/embedded/engine.js';
import type { SipEngine } from '../../src/sip/engine.js';
import { RawUdpPeer, sdp } from './helpers.js';
import { prng } from '../helpers/prng.js';

export const SEED = Number(process.env['FUZZ_SEED'] ?? 20261123);
/** Messages are built around this size limit: some under it, some beyond. */
export const MAX_BYTES = 16 * 1024;


export class Mutator {
  private readonly rnd: () => number;
  private n = 0;
  constructor(
    seed: number,
    private readonly peerPort: number,
    private readonly transport: 'UDP' | 'TCP',
  ) {
    this.rnd = prng(seed);
  }

  int(max: number): number {
    return Math.floor(this.rnd() * max);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  private bytes(len: number): Buffer {
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = this.int(256);
    return b;
  }

  /** A well-formed request of a random method, unique branch and Call-ID. */
  base(method = this.pick(['INVITE', 'OPTIONS', 'BYE', 'CANCEL', 'ACK', 'INFO', 'REGISTER', 'UPDATE', 'REFER']), body = ''): string[] {
    const id = `${SEED}-${this.n++}`;
    const toTag = method === 'BYE' || method === 'INFO' || (method === 'ACK' && this.int(2) === 0) ? `;tag=t${id}` : '';
    return [
      `${method} sip:${this.int(10000)}@127.0.0.1 SIP/2.0`,
      `Via: SIP/2.0/${this.transport} 127.0.0.1:${this.peerPort};branch=z9hG4bK${id};rport`,
      `Max-Forwards: ${this.pick(['70', '70', '70', '0', '1'])}`,
      `From: "Fuzz" <sip:fuzz@127.0.0.1>;tag=f${id}`,
      `To: <sip:target@127.0.0.1>${toTag}`,
      `Call-ID: ${id}@fuzz`,
      `CSeq: ${1 + this.int(1000)} ${method}`,
      `Contact: <sip:fuzz@127.0.0.1:${this.peerPort}${this.transport === 'TCP' ? ';transport=tcp' : ''}>`,
      ...(body.length > 0 ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
  }

  private join(lines: string[]): Buffer {
    return Buffer.from(lines.join('\r\n'));
  }

  /** A mutated message, and whether a TCP stream stays in step after it (complete, honest length). */
  next(): { data: Buffer; streamSafe: boolean } {
    const kind = this.int(13);
    return { data: this.make(kind), streamSafe: [0, 2, 3, 7, 8, 9, 12].includes(kind) };
  }

  private make(kind: number): Buffer {
    switch (kind) {
      case 0:
        return this.join(this.base());
      case 1: {
        const b = this.join(this.base('INVITE', sdp(9000)));
        return b.subarray(0, this.int(b.length));
      }
      case 2: {
        const lines = this.base();
        lines[0] = this.pick(['INVITE  SIP/2.0', 'SIP/2.0 abc Bad', 'FOO sip:x SIP/1.0', '', 'INVITE sip:x', 'GET / HTTP/1.1', this.bytes(20).toString('latin1'), 'SIP/2.0 99 Low', 'SIP/2.0 700 High']);
        return this.join(lines);
      }
      case 3: {
        const lines = this.base();
        const i = 1 + this.int(7);
        const copies = 2 + this.int(20);
        lines.splice(i, 0, ...Array.from({ length: copies }, () => lines[i] ?? ''));
        return this.join(lines);
      }
      case 4: {
        const lines = this.base('OPTIONS');
        // Around the limit: some just under, some beyond (dropped or answered 400, never processed).
        const size = Math.floor(MAX_BYTES * (0.5 + this.rnd()));
        lines.splice(2, 0, `X-Huge: ${'a'.repeat(size)}`);
        return this.join(lines);
      }
      case 5: {
        const body = 'v=0\r\n';
        const lines = this.base(this.pick(['INVITE', 'MESSAGE', 'OPTIONS']), body);
        const cl = lines.findIndex((l) => l.startsWith('Content-Length'));
        lines[cl] = `Content-Length: ${this.pick(['500', '1', '-5', 'abc', '5, 6', '99999999999', '', '0x10'])}`;
        if (this.int(3) === 0) lines.splice(cl, 0, 'l: 3');
        return this.join(lines);
      }
      case 6:
        return this.bytes(1 + this.int(1500));
      case 7:
        return this.join(this.base('INVITE', this.bytes(this.int(400)).toString('latin1').replace(/\r\n\r\n/g, '')));
      case 8: {
        const status = this.pick([100, 180, 200, 404, 487, 503]);
        const lines = this.base(this.pick(['INVITE', 'BYE', 'OPTIONS']));
        lines[0] = `SIP/2.0 ${status} Stray`;
        return this.join(lines);
      }
      case 9:
        return this.join(this.base(this.pick(['CANCEL', 'BYE', 'ACK'])));
      case 10: {
        const b = this.join(this.base('INVITE', sdp(9000)));
        for (let k = 0; k < 1 + this.int(5); k++) b[this.int(b.length)] = this.int(256);
        return b;
      }
      case 11:
        return Buffer.from(this.join(this.base()).toString().replace(/\r\n/g, '\n'));
      default: {
        // Compact forms, folded lines and odd spacing that are still valid.
        const lines = this.base('OPTIONS').map((l) => l.replace(/^Call-ID:/, 'i:').replace(/^From:/, 'f :').replace(/^To:/, 't:\r\n '));
        return this.join(lines);
      }
    }
  }
}

/** What the fuzzers aim at: a SIP port, and how many messages its engine has taken in so far. */
export interface FuzzTarget {
  readonly port: number;
  processed(): number;
}

export function engineTarget(e: EmbeddedSipEngine | SipEngine): FuzzTarget {
  return { port: e.local.port, processed: () => e.stats.received + e.stats.malformed };
}

export async function fuzzUdp(target: FuzzTarget, count: number): Promise<void> {
  const peer = await RawUdpPeer.open();
  const m = new Mutator(SEED, peer.port, 'UDP');
  try {
    for (let i = 0; i < count; i += 20) {
      // Lockstep in small batches: a blast would overflow the socket buffer and test nothing.
      const before = target.processed();
      for (let k = 0; k < 20; k++) await peer.send(m.next().data, target.port);
      const until = Date.now() + 200;
      while (target.processed() < before + 18 && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
      peer.received.length = 0;
    }
  } finally {
    await peer.close();
  }
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('data', () => undefined);
  s.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('error', reject));
  return s;
}

/**
 * One long-lived connection carries the messages that keep the stream in step;
 * those that break framing (truncated, lying length, binary) each get a
 * connection of their own, which the engine closes or we drop mid-message.
 */
export async function fuzzTcp(target: FuzzTarget, count: number, seed: number): Promise<number> {
  let closedByEngine = 0;
  let sent = 0;
  let main = await connect(target.port);
  const m = new Mutator(seed, main.localPort ?? 0, 'TCP');
  try {
    while (sent < count) {
      const { data, streamSafe } = m.next();
      if (streamSafe) {
        if (main.destroyed) main = await connect(target.port);
        sent++;
        if (!main.write(data)) await new Promise((r) => main.once('drain', r).once('close', r));
        continue;
      }
      if (m.int(4) !== 0) continue;
      sent++;
      const s = await connect(target.port);
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      if (m.int(3) === 0) {
        // The peer vanishes in the middle of a message.
        s.write(data.subarray(0, 1 + m.int(data.length)));
        s.destroy();
      } else {
        s.end(data);
        let engineClosed = false;
        s.once('end', () => (engineClosed = true));
        await closed;
        if (engineClosed) closedByEngine++;
      }
      await closed;
    }
    // Let the engine read what is in flight before the caller looks at the counters.
    const done = new Promise<void>((r) => main.once('close', () => r()));
    main.end();
    await done;
  } finally {
    main.destroy();
  }
  return closedByEngine;
}

