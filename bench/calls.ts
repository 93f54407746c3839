/**
 * Whole calls under load: SIPp as trunk and agent queue places N concurrent
 * calls through a gateway in this process, each with pcap audio both ways for
 * the length of the run. Reports calls completed, packets relayed against what
 * SIPp sent, and the gateway's CPU and memory per call.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import type { CallSummary } from '../src/call/summary.js';
import { freePort } from '../src/cli/free-port.js';
import { SCENARIO_DIR, SIPP_PCAP_DIR, Sipp } from '../src/cli/sipp.js';
import { parseConfig } from '../src/config/load.js';
import { startGateway } from '../src/main.js';
import { silentLogger } from '../src/ops/log.js';
import { runBenchChild } from './child.js';
import { toPeerCore } from './cores.js';

export interface CallFigures {
  readonly calls: number;
  readonly completed: number;
  readonly failed: number;
  readonly packetsExpected: number;
  readonly packetsRelayed: number;
  readonly droppedSource: number;
  readonly lossPct: number;
  readonly cpuMsPerCallSecond: number;
  readonly memKiBPerCall: number;
}

/** A gateway's RTP range from its port base: a pair per leg and spare. */
function rtpPortSpan(calls: number): number {
  return calls * 4 + 100;
}

/** SIPp's media ports, this far below the gateway's RTP range. */
const SIPP_MEDIA_BELOW = { agent: 1000, caller: 2000 } as const;

/** A pcap of `repeat` back-to-back copies of the sip-tester speech pcap, with continuous RTP sequence, timestamp and capture times. */
function longPcap(path: string, repeat: number): number {
  const src = readFileSync(join(SIPP_PCAP_DIR, 'g711a.pcap'));
  const records: { ts: number; data: Buffer }[] = [];
  for (let off = 24; off + 16 <= src.length; ) {
    const incl = src.readUInt32LE(off + 8);
    records.push({ ts: src.readUInt32LE(off) + src.readUInt32LE(off + 4) / 1e6, data: src.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  const first = records[0];
  const lastRec = records.at(-1);
  if (!first || !lastRec) throw new Error('empty pcap');
  const span = lastRec.ts - first.ts + 0.03;
  const out: Buffer[] = [src.subarray(0, 24)];
  let n = 0;
  for (let r = 0; r < repeat; r++) {
    for (const rec of records) {
      const t = rec.ts + r * span;
      const hdr = Buffer.alloc(16);
      hdr.writeUInt32LE(Math.floor(t), 0);
      hdr.writeUInt32LE(Math.round((t % 1) * 1e6) % 1000000, 4);
      hdr.writeUInt32LE(rec.data.length, 8);
      hdr.writeUInt32LE(rec.data.length, 12);
      const data = Buffer.from(rec.data);
      const rtp = 14 + 20 + 8; // Ethernet, IPv4 without options, UDP
      data.writeUInt16BE((n + 1) & 0xffff, rtp + 2);
      data.writeUInt32BE((n * 240) >>> 0, rtp + 4);
      data.writeUInt16BE(0, 14 + 20 + 6); // UDP checksum: none
      out.push(hdr, data);
      n++;
    }
  }
  writeFileSync(path, Buffer.concat(out));
  return n;
}

/** The same gateway and calls, the line recorded (announced, captured, sealed, spooled, uploaded) or carried unrecorded. */
export type CallRecording = 'unrecorded' | 'recorded';

/** The built-in announcement's length, rounded up: recorded calls reach the agent this much later. */
const ANNOUNCEMENT_S = 4;

/**
 * N whole calls through a gateway in this process, with the real recording
 * pipeline (an fs store, the spool, the uploader, a fresh key pair) whether or
 * not the line records. CPU is measured over `seconds` once every call is
 * answered, so set-up and the announcement stay out of it and both kinds
 * measure the same thing: N calls with audio both ways.
 */
export async function measureCalls(calls: number, seconds: number, portBase: number, recording: CallRecording = 'recorded'): Promise<CallFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-bench-'));
  const rate = Math.min(50, calls);
  const rampS = calls / rate;
  // Both sides play from the answer on; the first call answered must still be
  // playing when the last one's window ends. The pcap's packets are 30 ms apart.
  const pcapFile = join(dir, 'speech.pcap');
  const packetsPerLeg = longPcap(pcapFile, Math.ceil((rampS + seconds + 2) / 7));
  for (const name of ['caller.xml', 'agent.xml']) {
    const xml = readFileSync(join(SCENARIO_DIR, name), 'utf8').replace(/play_pcap_audio="[^"]+"/, `play_pcap_audio="${pcapFile}"`);
    writeFileSync(join(dir, name), xml);
  }
  const [sipPort, agentPort, callerPort] = [await freePort(), await freePort(), await freePort()];
  const config = parseConfig(
    {
      sip: { port: sipPort, timers: { t1: 500, t2: 4000, t4: 5000 } },
      rtp: { portMin: portBase, portMax: portBase + rtpPortSpan(calls) },
      lines: [{ number: '1000', name: 'bench', target: `sip:queue@127.0.0.1:${agentPort}`, record: recording === 'recorded' ? 'always' : 'never', announcement: { mode: 'early' } }],
      storage: { kind: 'fs', dir: join(dir, 'store') },
      spool: { dir: join(dir, 'spool') },
      encryption: { keyDir: join(dir, 'keys') },
      log: { level: 'warn' },
      control: { enabled: false },
      audit: { file: join(dir, 'audit.log') },
    },
    'bench',
  );
  globalThis.gc?.();
  const memBefore = process.memoryUsage().rss;
  const running = await startGateway(config, { log: silentLogger() });
  const summaries: CallSummary[] = [];
  running.gateway.on('call-ended', (s) => summaries.push(s));
  let answered = 0;
  let allAnswered: () => void = () => undefined;
  const everyCallAnswered = new Promise<void>((resolve) => (allAnswered = resolve));
  running.gateway.on('call-started', (call) =>
    call.once('answered', () => {
      if (++answered === calls) allAnswered();
    }),
  );
  let memPeak = 0;
  const sampler = setInterval(() => (memPeak = Math.max(memPeak, process.memoryUsage().rss)), 250);
  const agent = new Sipp({ scenario: join(dir, 'agent.xml'), localPort: agentPort, mediaPort: portBase - SIPP_MEDIA_BELOW.agent, calls, timeoutSec: 120 });
  const caller = new Sipp({ scenario: join(dir, 'caller.xml'), localPort: callerPort, mediaPort: portBase - SIPP_MEDIA_BELOW.caller, remote: `127.0.0.1:${sipPort}`, service: '1000', calls, rate, limit: calls, pauseMs: Math.round((packetsPerLeg * 0.03 + 2) * 1000), timeoutSec: 120 });
  toPeerCore(agent.pid);
  toPeerCore(caller.pid);
  // Should some call never be answered, the window starts anyway, in time to end before the calls do.
  await Promise.race([everyCallAnswered, delay((rampS + ANNOUNCEMENT_S + 2) * 1000)]);
  await delay(500);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await delay(seconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  const wallS = (performance.now() - wallBefore) / 1000;
  await Promise.all([caller.done, agent.done]);
  clearInterval(sampler);
  await running.stop();
  rmSync(dir, { recursive: true, force: true });
  const relayed = summaries.reduce((sum, s) => sum + (s.legs.caller?.relayed ?? 0) + (s.legs.agent?.relayed ?? 0), 0);
  const expected = calls * 2 * packetsPerLeg;
  const completed = summaries.filter((s) => s.reason === 'caller-bye').length;
  return {
    calls,
    completed,
    failed: calls - completed,
    packetsExpected: expected,
    packetsRelayed: relayed,
    droppedSource: summaries.reduce((sum, s) => sum + (s.legs.caller?.droppedSource ?? 0) + (s.legs.agent?.droppedSource ?? 0), 0),
    lossPct: expected > 0 ? (100 * (expected - relayed)) / expected : 0,
    cpuMsPerCallSecond: (cpu.user + cpu.system) / 1000 / calls / wallS,
    memKiBPerCall: Math.max(0, memPeak - memBefore) / 1024 / calls,
  };
}

/** How far apart two gateways' port bases must be: one's RTP range, then room for the next one's SIPp media below its base. */
function callsPortSpan(calls: number): number {
  return rtpPortSpan(calls) + SIPP_MEDIA_BELOW.caller + 100;
}

/** Below the kernel's ephemeral ports, where SIPp's and the gateway's SIP sockets bind. */
const PAIRED_CALLS_PORT_BASE = 22000;

/**
 * The same calls unrecorded and recorded at the same time, each gateway in a
 * process of its own on the same core with its own SIPp on the peer core, so
 * both see the same machine (as the recording-cost ladder pairs its stages).
 */
export async function measureCallsPaired(calls: number, seconds: number): Promise<Record<CallRecording, CallFigures>> {
  const run = (recording: CallRecording, base: number): Promise<CallFigures> => runBenchChild<CallFigures>('./calls-child.ts', [recording, String(calls), String(seconds), String(base)]);
  const [unrecorded, recorded] = await Promise.all([run('unrecorded', PAIRED_CALLS_PORT_BASE), run('recorded', PAIRED_CALLS_PORT_BASE + callsPortSpan(calls))]);
  return { unrecorded, recorded };
}
