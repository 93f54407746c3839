/**
 * Media relay under load, in one run: N calls' worth of RTP (two streams of
 * 50 packets/s per call) through recgw's relay path (latching legs, bridge,
 * capture on both legs) and through a plain UDP forwarder, with the far ends
 * in a child process. Prints loss, CPU and memory per call, and latency
 * percentiles for both, and their ratio.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MediaLeg } from '../src/media/leg.js';
import { PortAllocator } from '../src/media/ports.js';
import { InbandDtmfDetector } from '../src/media/inband-dtmf.js';
import { LegCapture, type ToneEvents } from '../src/recording/capture.js';
import { CaptureGate } from '../src/recording/gate.js';
import { CaptureClock, type MonotonicClock } from '../src/recording/clock.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, loadEncryptionKey, type KeyEncryptionKey } from '../src/crypto/keys.js';
import { silentLogger } from '../src/ops/log.js';
import { EncryptedSegmentWriter, EncryptedSink } from '../src/recording/encrypted-writer.js';
import { RecordingSealer } from '../src/crypto/format.js';
import type { LegName, SegmentInfo, SegmentSink, SegmentWriter } from '../src/recording/writer.js';
import { FsStore } from '../src/storage/fs.js';
import { Spool } from '../src/storage/spool.js';
import { Uploader } from '../src/storage/uploader.js';
import { UPLOAD_SLOTS } from '../src/recording/pipeline.js';
import { FAR_END_CORE } from './cores.js';
import { recorderThreadSystem } from './recorder-thread.js';
import { CountingSink } from './counting-sink.js';
import { aimLegs, bridgedCall } from './loopback-legs.js';

export interface RelayFigures {
  readonly calls: number;
  readonly sent: number;
  readonly received: number;
  readonly lossPct: number;
  readonly cpuMsPerCallSecond: number;
  /** The part of cpuMsPerCallSecond spent on the main thread, the one that relays. */
  readonly mainCpuMsPerCallSecond: number;
  readonly memKiBPerCall: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly p999us: number;
}

/** A relay under test: the ports its far ends send to, where it sends on, and how it ends. */
export interface System {
  ports: number[];
  setTargets(peerPorts: number[]): void;
  close(): void | Promise<void>;
}

/** The gateway's default `recording.lookbackMs`. */
const LOOKBACK_MS = 1000;

/**
 * What the recgw relay does with each leg's audio, each a stage further than
 * the one before: nothing; `place` (placed on the call's clock with the gate
 * and the lookback, the audio counted); `capture` (and in-band detection);
 * `seal` (and sealed into the segment format in memory); `spool` (and written
 * to the spool); `record` (and uploaded to an fs store, as the gateway does).
 *
 * Off that ladder, `bare`: the least any recording inside the relaying process
 * can do and still keep its audio. Each packet's payload goes from the tap
 * straight into the leg's segment writer, which seals and spools it as the
 * gateway does. It has no call clock, no gate, no lookback, no detection and
 * no upload, so its ratio is a floor under every stage's.
 *
 * And `thread`: `record`'s work on a worker thread of its own (recorder-thread.ts).
 */
export const RECORDING_STAGES = ['none', 'place', 'capture', 'seal', 'spool', 'record'] as const;
/** Every stage a relay measurement takes: the ladder, its floor, and the ladder's top on a thread of its own. */
export const CAPTURING = [...RECORDING_STAGES, 'bare', 'thread'] as const;
export type Capturing = (typeof CAPTURING)[number];

/** Where a stage's captured audio goes. */
export interface AudioSinks {
  open(info: SegmentInfo): SegmentSink;
  close(): Promise<void>;
}

/** The sealing alone: the segment writer's own sink, its records dropped instead of spooled. */
function sealingSink(kek: KeyEncryptionKey, info: Pick<SegmentInfo, 'callId' | 'leg'>): SegmentSink {
  const sealer = new RecordingSealer({ kind: 'audio', codec: 'PCMA', sampleRate: 8000, leg: info.leg, callId: info.callId, segment: 1, startedAt: new Date().toISOString() }, kek);
  return new EncryptedSink(sealer, { append: () => undefined, seal: () => Promise.resolve(), failed: false });
}

/** The sinks of a stage: none for `none`, each a stage further than the one before. */
export async function audioSinks(capturing: Capturing): Promise<AudioSinks | undefined> {
  switch (capturing) {
    // The recorder thread makes its own.
    case 'none':
    case 'thread':
      return undefined;
    case 'place':
    case 'capture':
      return { open: () => new CountingSink(), close: () => Promise.resolve() };
    case 'seal': {
      const dir = mkdtempSync(join(tmpdir(), 'recgw-bench-seal-'));
      const kek = loadEncryptionKey({ publicKey: generateKeyPair(dir).publicKeyFile });
      rmSync(dir, { recursive: true, force: true });
      return { open: (info) => sealingSink(kek, info), close: () => Promise.resolve() };
    }
    case 'bare':
    case 'spool':
    case 'record': {
      const recording = await recordingWriter(capturing === 'record');
      return { open: (info) => recording.writer.open(info), close: recording.close };
    }
  }
}

/**
 * The real recording path into a temporary fs store: seal, spool, upload,
 * verify. Without `upload`, segments are sealed and spooled and nothing more
 * (the spool's part alone), and close() throws the spool away.
 */
async function recordingWriter(upload = true): Promise<{ writer: SegmentWriter; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-bench-rec-'));
  const keys = generateKeyPair(join(dir, 'keys'));
  const spool = new Spool({ dir: join(dir, 'spool'), maxBytes: 1 << 30 });
  await spool.open();
  const uploader = upload ? new Uploader({ spool, store: new FsStore({ dir: join(dir, 'store') }), ...UPLOAD_SLOTS }) : undefined;
  await uploader?.start();
  const writer = new EncryptedSegmentWriter({ spool, kek: loadEncryptionKey({ publicKey: keys.publicKeyFile }), log: silentLogger(), retentionDays: () => 90, objectLock: false });
  return {
    writer,
    close: async () => {
      await uploader?.drain(30_000);
      await uploader?.stop();
      await spool.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ports a recgw system of `calls` calls may take from its base: an RTP and RTCP pair per leg, and a few spare. */
export function relayPortSpan(calls: number): number {
  return calls * 4 + 10;
}

/** The one segment of leg `leg` of call `call`, on the bench's line. */
export function benchSegment(call: number, leg: LegName): SegmentInfo {
  return { callId: `bench-${call}`, leg, segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt: new Date(), callStartedAt: new Date(), line: 'bench', direction: 'inbound' };
}

/** One gate per call, as a recorded call runs in the gateway: the jitter and the default 1 s lookback held back, DTMF redacted (the default). */
export function callGate(): CaptureGate {
  return new CaptureGate({ startedAt: new Date(), holdbackSamples: (200 + LOOKBACK_MS) * 8, redactDtmf: true, dtmfQuietMs: 3000 });
}

export interface LegCaptureOptions {
  readonly sink: SegmentSink;
  readonly leg: LegName;
  readonly gate: CaptureGate;
  readonly t0: number;
  /** The in-band DTMF detector on the leg, as on every recorded leg (from `capture` on). */
  readonly detect: boolean;
  readonly clock?: MonotonicClock;
}

/** A leg's capture as a recorded call runs in the gateway: 200 ms jitter hold-back, the default lookback, the call's gate. */
export function legCapture(o: LegCaptureOptions): LegCapture {
  return new LegCapture({
    sink: o.sink,
    codec: 'PCMA',
    payloadType: 8,
    t0: o.t0,
    jitterMs: 200,
    lookbackMs: LOOKBACK_MS,
    gate: o.gate,
    leg: o.leg,
    telephoneEventPayloadType: 101,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.detect ? { toneDetector: (events: ToneEvents) => new InbandDtmfDetector('PCMA', events) } : {}),
  });
}

async function recgwSystem(calls: number, base: number, capturing: Capturing): Promise<System> {
  const allocator = new PortAllocator({ address: '127.0.0.1', portMin: base, portMax: base + relayPortSpan(calls) });
  if (capturing === 'thread') return recorderThreadSystem(allocator, calls);
  const clock = new CaptureClock();
  const legs: MediaLeg[] = [];
  const captures: LegCapture[] = [];
  /** `bare` writes to these from the tap, with no capture between. */
  const bareSinks: SegmentSink[] = [];
  const sinks = await audioSinks(capturing);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const [a, b] = await bridgedCall(allocator);
    const gate = callGate();
    for (const leg of [a, b]) {
      legs.push(leg);
      if (!sinks) continue;
      const sink = sinks.open(benchSegment(i, leg.name));
      if (capturing === 'bare') {
        bareSinks.push(sink);
        // The view is a floor's one allocation per packet: a sink takes a Buffer, and the payload sits inside the packet.
        leg.tap = (packet, view) => sink.write(packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength));
        continue;
      }
      const capture = legCapture({ sink, leg: leg.name, gate, t0, detect: capturing !== 'place' });
      clock.add(capture);
      captures.push(capture);
      leg.tap = (packet, view, arrivalMs) => capture.queue(packet, view.payloadOffset, view.payloadLength, view.payloadType, view.timestamp, view.ssrc, arrivalMs);
    }
  }
  return {
    ports: legs.map((l) => l.localPort),
    setTargets: (peers) => aimLegs(legs, peers),
    close: async () => {
      const now = performance.now();
      for (const c of captures) clock.remove(c);
      await Promise.all(captures.map((c) => c.stop(now)));
      for (const l of legs) l.close();
      await Promise.all(bareSinks.map((sink) => sink.close()));
      await sinks?.close();
    },
  };
}

/** The baseline: per leg one socket, every datagram sent on out of the other leg's socket, no checks. */
async function plainSystem(calls: number): Promise<System> {
  const sockets: Socket[] = [];
  for (let i = 0; i < calls * 2; i++) {
    const s = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    sockets.push(s);
  }
  const targets: number[] = [];
  sockets.forEach((s, i) => {
    const other = sockets[i ^ 1];
    if (!other) return;
    s.on('message', (msg) => other.send(msg, targets[i ^ 1] ?? 0, '127.0.0.1'));
  });
  return {
    ports: sockets.map((s) => s.address().port),
    setTargets: (peers) => peers.forEach((p, i) => (targets[i] = p)),
    close: () => sockets.forEach((s) => s.close()),
  };
}

/**
 * CPU ms of this process's main thread (the event loop that relays), from
 * Linux's per-thread accounting; NaN where there is none. The rest of
 * process.cpuUsage() is the file-system thread pool and V8's GC helpers.
 */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return NaN;
  }
}

/** Linux's USER_HZ, the unit of utime and stime in /proc: 100 on every common build. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * No relay at all: each far end sends straight to the other. Its latency is
 * the harness's own floor (the far ends' event loop, the bursts, the kernel),
 * which every relay's figures stand on.
 */
function directSystem(): System {
  let ports: number[] = [];
  return {
    get ports() {
      return ports;
    },
    setTargets: (peers) => (ports = peers.map((_, i) => peers[i ^ 1] ?? 0)),
    close: () => undefined,
  };
}

export async function measureRelay(kind: 'recgw' | 'plain' | 'direct', calls: number, seconds: number, portBase = 42000, capturing: Capturing = 'capture'): Promise<RelayFigures> {
  globalThis.gc?.();
  const memBefore = process.memoryUsage().rss;
  const system = kind === 'recgw' ? await recgwSystem(calls, portBase, capturing) : kind === 'plain' ? await plainSystem(calls) : directSystem();
  const peersScript = fileURLToPath(new URL('./rtp-peers.ts', import.meta.url));
  // On a machine with cores to spare, the far ends get a core of their own so their scheduling stays out of the figures.
  const nodeArgs = ['--import', 'tsx', peersScript, String(calls), String(seconds)];
  const child = FAR_END_CORE !== undefined ? spawn('taskset', ['-c', FAR_END_CORE, process.execPath, ...nodeArgs], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const peerPorts = (JSON.parse(String(first.value)) as { ports: number[] }).ports;
  system.setTargets(peerPorts);
  child.stdin.write(`${JSON.stringify({ targets: system.ports })}\n`);
  const mainBefore = mainThreadCpuMs();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let memPeak = 0;
  const sampler = setInterval(() => (memPeak = Math.max(memPeak, process.memoryUsage().rss)), 250);
  const last = await iterator.next();
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuBefore);
  const mainCpuMs = mainThreadCpuMs() - mainBefore;
  const wallS = (performance.now() - wallBefore) / 1000;
  const r = JSON.parse(String(last.value)) as { sent: number; received: number; p50: number; p99: number; p999: number };
  await system.close();
  lines.close();
  return {
    calls,
    sent: r.sent,
    received: r.received,
    lossPct: r.sent > 0 ? (100 * (r.sent - r.received)) / r.sent : 0,
    cpuMsPerCallSecond: (cpu.user + cpu.system) / 1000 / calls / wallS,
    mainCpuMsPerCallSecond: mainCpuMs / calls / wallS,
    memKiBPerCall: Math.max(0, memPeak - memBefore) / 1024 / calls,
    p50us: r.p50,
    p99us: r.p99,
    p999us: r.p999,
  };
}
