/**
 * `npm run bench`: the load benchmark. Figures are printed, never asserted:
 * the machine is shared and noisy, so each figure stands beside a baseline
 * measured in the same run.
 *
 *   BENCH_STEPS=50,100,200,500   concurrent calls per step
 *   BENCH_SECONDS=10             length of each relay measurement
 *   BENCH_CALL_STEPS=50,100,200  concurrent SIPp calls per step (whole calls, SIP + pcap audio)
 *   BENCH_RECORD_STEPS=100,250   calls per step for the recording-cost ratio
 *   BENCH_RECORD_REPEATS=3       relayed/recorded pairs per step; the median ratio is the figure
 *
 * An empty list skips its part (BENCH_STEPS= BENCH_CALL_STEPS= for the recording cost alone).
 */
import { measureCalls } from './calls.js';
import { measureCapture } from './capture.js';
import { measureSealing } from './crypto.js';
import { measureInbandDtmf } from './inband-dtmf.js';
import { measureRecording } from './recording.js';
import { measureRelay, type RelayFigures } from './relay.js';

const steps = (process.env['BENCH_STEPS'] ?? '50,100,200,500').split(',').filter(Boolean).map(Number);
const callSteps = (process.env['BENCH_CALL_STEPS'] ?? '50,100,200').split(',').filter(Boolean).map(Number);
const seconds = Number(process.env['BENCH_SECONDS'] ?? '10');

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');

function row(kind: string, r: RelayFigures): string {
  return [kind.padEnd(6), String(r.calls).padStart(5), String(r.sent).padStart(9), String(r.received).padStart(9), f2(r.lossPct).padStart(7), f2(r.cpuMsPerCallSecond).padStart(10), f1(r.memKiBPerCall).padStart(10), String(r.p50us).padStart(7), String(r.p99us).padStart(7), String(r.p999us).padStart(7)].join(' ');
}

if (steps.length > 0) {
  console.log(`relay: N calls = 2N RTP streams at 50 packets/s for ${seconds} s; far ends in a child process`);
  console.log('CPU is ms of CPU per call per second of call; memory is RSS growth per call; latency is send-to-receive through the relay, in microseconds\n');
  console.log('direct: the far ends sending straight to each other, no relay: the harness\'s own latency floor\n');
  console.log('system  calls      sent  received  loss%  cpu ms/c/s  mem KiB/c     p50     p99   p99.9');
}
let base = 42000;
for (const n of steps) {
  const direct = await measureRelay('direct', n, seconds);
  const plain = await measureRelay('plain', n, seconds);
  const recgw = await measureRelay('recgw', n, seconds, base);
  base = base + 4 * n + 200 > 60000 ? 42000 : base + 4 * n + 200;
  console.log(row('direct', direct));
  console.log(row('plain', plain));
  console.log(row('recgw', recgw));
  console.log(`ratio recgw/plain: cpu ${ratio(recgw.cpuMsPerCallSecond, plain.cpuMsPerCallSecond)}, memory ${ratio(recgw.memKiBPerCall, plain.memKiBPerCall)}, p50 ${ratio(recgw.p50us, plain.p50us)}, p99 ${ratio(recgw.p99us, plain.p99us)}`);
  console.log(`p99 added over direct: plain ${plain.p99us - direct.p99us} us, recgw ${recgw.p99us - direct.p99us} us; recgw over plain ${recgw.p99us - plain.p99us} us\n`);
}

const sealing = measureSealing();
console.log(`sealing (AES-256-GCM, 0.5 s chunks, X25519-wrapped key per segment): ${sealing.mbPerSecond.toFixed(0)} MB/s per core = ${Math.round(sealing.legsPerCore)} live legs per core; a new segment costs ${sealing.newSegmentMs.toFixed(2)} ms\n`);

console.log('capture without sockets: 500 legs of speech on a simulated clock, flushed as the capture clock does; CPU per second of one leg\'s audio\n');
const captureFigures = await measureCapture();
const copyFloor = captureFigures.find((f) => f.variant === 'copy')?.usPerLegSecond ?? NaN;
console.log('variant  us/leg-s  vs copy');
for (const f of captureFigures) console.log([f.variant.padEnd(7), f1(f.usPerLegSecond).padStart(9), ratio(f.usPerLegSecond, copyFloor).padStart(8)].join(' '));
console.log('(copy: payloads into a ring and nothing else; plain: LegCapture alone; policy: with the gate, 1 s lookback and in-band detection)\n');

console.log(`recording path without sockets: 200 legs' audio handed to the segment writer every 100 ms for ${seconds} s, in real time; CPU per second of one leg's audio\n`);
const recordingFigures = await measureRecording(200, seconds);
const idle = recordingFigures.find((f) => f.variant === 'idle')?.usPerLegSecond ?? NaN;
console.log('variant  us/leg-s  (main)  over idle');
for (const f of recordingFigures) console.log([f.variant.padEnd(7), f1(f.usPerLegSecond).padStart(9), f1(f.mainUsPerLegSecond).padStart(7), (f.variant === 'idle' ? '' : f1(f.usPerLegSecond - idle)).padStart(10)].join(' '));
console.log('(idle: the tick alone; seal: 0.5 s chunks sealed in memory; spool: and written to the spool; upload: and streamed to an fs store)\n');

console.log('in-band DTMF detection (8 Goertzel filters per sample of the blocks that can start or hold a tone, 102-sample blocks), beside decoding the same G.711 through a table and nothing else\n');
console.log('input   detect Msamples/s  legs/core  decode Msamples/s  legs/core  cost detect/decode');
for (const r of await measureInbandDtmf()) {
  console.log([r.input.padEnd(6), f2(r.samplesPerSecond / 1e6).padStart(18), String(Math.round(r.legsPerCore)).padStart(10), f2(r.baselineSamplesPerSecond / 1e6).padStart(18), String(Math.round(r.baselineLegsPerCore)).padStart(10), ratio(r.baselineSamplesPerSecond, r.samplesPerSecond).padStart(19)].join(' '));
}
console.log('');

const recordSteps = (process.env['BENCH_RECORD_STEPS'] ?? '100,250').split(',').filter(Boolean).map(Number);
if (recordSteps.length > 0) {
  const repeats = Math.max(1, Number(process.env['BENCH_RECORD_REPEATS'] ?? '3'));
  console.log('recording cost: the same relay load, relayed only vs recorded for real (capture, seal, spool, upload to an fs store),');
  console.log(`in ${repeats} alternating pairs per step; "main" is the relaying thread's part, the rest is the file-system pool and GC helpers\n`);
  console.log('calls  relay cpu ms/c/s (main)  recorded cpu ms/c/s (main)  ratio  relay loss%  recorded loss%');
  for (const n of recordSteps) {
    const ratios: number[] = [];
    for (let k = 0; k < repeats; k++) {
      const relay = await measureRelay('recgw', n, seconds, 42000, 'none');
      const recorded = await measureRelay('recgw', n, seconds, 42000, 'record');
      ratios.push(recorded.cpuMsPerCallSecond / relay.cpuMsPerCallSecond);
      const withMain = (r: RelayFigures): string => `${f2(r.cpuMsPerCallSecond)} (${f2(r.mainCpuMsPerCallSecond)})`;
      console.log([String(n).padStart(5), withMain(relay).padStart(24), withMain(recorded).padStart(27), ratio(recorded.cpuMsPerCallSecond, relay.cpuMsPerCallSecond).padStart(6), f2(relay.lossPct).padStart(12), f2(recorded.lossPct).padStart(15)].join(' '));
    }
    ratios.sort((a, b) => a - b);
    console.log(`${String(n).padStart(5)} calls: median ratio ${f2(ratios[Math.floor(ratios.length / 2)] ?? NaN)}x (range ${f2(ratios[0] ?? NaN)}x to ${f2(ratios.at(-1) ?? NaN)}x)`);
  }
  console.log('');
}

if (callSteps.length > 0) {
  console.log('whole calls: SIPp trunk and agent queue, N concurrent calls with pcap audio both ways, through the gateway (recorded line)\n');
  console.log('calls  completed  failed  packets expected  relayed   loss%  dropped-src  cpu ms/c/s  mem KiB/c');
  let callBase = 44000;
  for (const n of callSteps) {
    const r = await measureCalls(n, seconds, callBase);
    callBase = callBase + 4 * n + 300 > 60000 ? 44000 : callBase + 4 * n + 300;
    console.log([String(r.calls).padStart(5), String(r.completed).padStart(10), String(r.failed).padStart(7), String(r.packetsExpected).padStart(17), String(r.packetsRelayed).padStart(8), f2(r.lossPct).padStart(7), String(r.droppedSource).padStart(12), f2(r.cpuMsPerCallSecond).padStart(11), f1(r.memKiBPerCall).padStart(10)].join(' '));
  }
}
