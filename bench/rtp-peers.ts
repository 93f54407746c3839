/**
 * The far ends of N calls for the relay benchmark, in a process of their own so
 * their CPU is not charged to the relay under test. Each call has a caller peer
 * and an agent peer; each sends a 20 ms G.711 packet every 20 ms to its leg of
 * the relay, stamped with the send time, and times what comes back through the
 * other leg. Protocol on stdio: we print {"ports":[...]} once bound, wait for a
 * line on stdin holding the targets, run, then print the result as JSON.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';

const calls = Number(process.argv[2] ?? '10');
const seconds = Number(process.argv[3] ?? '10');
const PACKET = 12 + 160;

interface Peer {
  socket: Socket;
  target: number;
  seq: number;
  ts: number;
  ssrc: number;
}

async function bindPeer(): Promise<Peer> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, target: 0, seq: 0, ts: 0, ssrc: Math.floor(Math.random() * 0xffffffff) };
}

const peers: Peer[] = [];
for (let i = 0; i < calls * 2; i++) peers.push(await bindPeer());
process.stdout.write(`${JSON.stringify({ ports: peers.map((p) => p.socket.address().port) })}\n`);

const latenciesUs: number[] = [];
let received = 0;
let sent = 0;
for (const p of peers) {
  p.socket.on('message', (msg) => {
    received++;
    if (msg.length >= 20) {
      const stamp = msg.readBigUInt64BE(12);
      latenciesUs.push(Number((process.hrtime.bigint() - stamp) / 1000n));
    }
  });
}

const rl = createInterface({ input: process.stdin });
const targets = await new Promise<number[]>((resolve) => rl.once('line', (l) => resolve((JSON.parse(l) as { targets: number[] }).targets)));
rl.close();
peers.forEach((p, i) => (p.target = targets[i] ?? 0));
// Connected sockets send without a per-packet address lookup (about a fifth less
// CPU here), so the far ends stay further from saturating their core.
await Promise.all(peers.map((p) => new Promise<void>((resolve) => p.socket.connect(p.target, '127.0.0.1', resolve))));

// Four interleaved groups every 20 ms, as independent phones would spread out.
const packet = Buffer.alloc(PACKET, 0xd5);
packet[0] = 0x80;
packet[1] = 8;
const groups = 4;
const timers: NodeJS.Timeout[] = [];
const started = Date.now();
for (let g = 0; g < groups; g++) {
  setTimeout(() => {
    timers.push(
      setInterval(() => {
        for (let i = g; i < peers.length; i += groups) {
          const p = peers[i];
          if (!p) continue;
          p.seq = (p.seq + 1) & 0xffff;
          p.ts = (p.ts + 160) >>> 0;
          packet.writeUInt16BE(p.seq, 2);
          packet.writeUInt32BE(p.ts, 4);
          packet.writeUInt32BE(p.ssrc, 8);
          packet.writeBigUInt64BE(process.hrtime.bigint(), 12);
          p.socket.send(packet);
          sent++;
        }
      }, 20),
    );
  }, (20 / groups) * g);
}

await new Promise((r) => setTimeout(r, seconds * 1000));
for (const t of timers) clearInterval(t);
await new Promise((r) => setTimeout(r, 300)); // the last packets in flight
latenciesUs.sort((a, b) => a - b);
const pct = (q: number): number => latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(q * latenciesUs.length))] ?? NaN;
process.stdout.write(`${JSON.stringify({ sent, received, seconds: (Date.now() - started) / 1000, p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), max: latenciesUs.at(-1) ?? NaN })}\n`);
for (const p of peers) p.socket.close();
