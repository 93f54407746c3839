/**
 * `npm run bench`: the load benchmark. Figures are printed, never asserted:
 * the machine is shared and noisy, so each figure stands beside a baseline
 * measured in the same run.
 *
 *   BENCH_STEPS=50,100,200,500   concurrent calls per step
 *   BENCH_SECONDS=10             length of each relay measurement
 *   BENCH_CALL_STEPS=50,100,150  concurrent SIPp calls per step (whole calls, SIP + pcap audio); two gateways share a core
 *   BENCH_CALL_REPEATS=1         paired rounds of whole calls per step, the line unrecorded and recorded at the same time
 *   BENCH_RECORD_STEPS=100,200   calls per step for the recording-cost ratio (each beside as many relayed-only calls)
 *   BENCH_RECORD_REPEATS=3       rounds of every recording stage per step; the median is the figure
 *   BENCH_QUIET_RECORDER=1       the relays' far ends on the relays' core, the `thread` stage's recorder thread alone on the other
 *   BENCH_RETENTION_CALLS=3000   calls in the fs store the retention sweep walks (0 skips it)
 *
 * An empty list skips its part (BENCH_STEPS= BENCH_CALL_STEPS= for the recording cost alone).
 */
import { measureCallsPaired } from './calls.js';
import { FAR_END_CORE, PEER_CORE } from './cores.js';
import { measureCapture } from './capture.js';
import { measureSealing } from './crypto.js';
import { measureInbandDtmf } from './inband-dtmf.js';
import { measureRecording } from './recording.js';
import { measureScrape } from './metrics.js';
import { measureRetention, measureS3Sweep } from './retention.js';
import { measurePaired, PAIRED_STAGES, type PairedFigures } from './recording-cost.js';
import { measureRelay, type Capturing, type RelayFigures } from './relay.js';

const steps = (process.env['BENCH_STEPS'] ?? '50,100,200,500').split(',').filter(Boolean).map(Number);
const callSteps = (process.env['BENCH_CALL_STEPS'] ?? '50,100,150').split(',').filter(Boolean).map(Number);
const seconds = Number(process.env['BENCH_SECONDS'] ?? '10');

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
const signed = (n: number): string => (n >= 0 ? `+${f2(n)}` : f2(n));
/** The middle value, or the mean of the middle two. */
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[h] ?? NaN) : ((s[h - 1] ?? NaN) + (s[h] ?? NaN)) / 2;
};
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

console.log('in-band DTMF detection (102-sample blocks; 4 row filters per sample of the blocks that can start or hold a tone, 4 column filters more where the row tone is strong enough), beside decoding the same G.711 through a table and nothing else\n');
console.log('input   detect Msamples/s  legs/core  decode Msamples/s  legs/core  cost detect/decode');
for (const r of await measureInbandDtmf()) {
  console.log([r.input.padEnd(6), f2(r.samplesPerSecond / 1e6).padStart(18), String(Math.round(r.legsPerCore)).padStart(10), f2(r.baselineSamplesPerSecond / 1e6).padStart(18), String(Math.round(r.baselineLegsPerCore)).padStart(10), ratio(r.baselineSamplesPerSecond, r.samplesPerSecond).padStart(19)].join(' '));
}
console.log('');

const retentionCalls = Number(process.env['BENCH_RETENTION_CALLS'] ?? '3000');
if (retentionCalls > 0) {
  const r = await measureRetention(retentionCalls);
  console.log(`retention sweep over an fs store of ${r.calls} calls (${r.objects} objects; a third expired, a third kept, a third younger than 14 days), beside listing every object once`);
  console.log(`list ${f1(r.listMs)} ms (${f1((r.listMs * 1000) / r.objects)} us/object); sweep ${f1(r.sweepMs)} ms (${f1((r.sweepMs * 1000) / r.calls)} us/call), ${r.examined} calls read, ${r.deleted} deleted; sweep/list ${ratio(r.sweepMs, r.listMs)}`);
  console.log(`the same sweep reading one call at a time ${f1(r.sweepOneByOneMs)} ms; one at a time/read ahead ${ratio(r.sweepOneByOneMs, r.sweepMs)}`);
  console.log(`at this pace a store of a million calls takes about ${f1((r.sweepMs / r.calls) * 1e6 / 60_000)} minutes to sweep`);
  const s3 = await measureS3Sweep(Math.min(retentionCalls, 600));
  if (s3) console.log(`on the S3-compatible server (loopback), ${s3.calls} calls: sweep ${f1(s3.sweepMs)} ms, reading one call at a time ${f1(s3.sweepOneByOneMs)} ms; ${ratio(s3.sweepOneByOneMs, s3.sweepMs)}; ${s3.examined} read, ${s3.deleted} deleted`);
  else console.log('the S3-compatible server is not installed: no S3 sweep (node scripts/ensure-deps.mjs installs it)');
  console.log(`finding one call's objects (a hold, an erasure, an export): by its id ${f2(r.findMs)} ms (median of 21); by an id without a time, the whole store listed, ${f1(r.findLegacyMs)} ms; ${ratio(r.findLegacyMs, r.findMs)}\n`);
}

console.log('a monitoring scrape: the health view of N live calls\' counters written out as Prometheus text (GET /metrics), beside the same view as JSON (GET /health)');
console.log('calls  metrics us/scrape  health us/scrape  metrics/health');
for (const calls of [0, 100, 500, 1000]) {
  const s = measureScrape(calls);
  console.log([String(calls).padStart(5), f1(s.metricsUs).padStart(18), f1(s.healthUs).padStart(16), ratio(s.metricsUs, s.healthUs).padStart(15)].join(' '));
}
console.log('');

/** The ladder's stages, then its floor, then `record` on a thread of its own. */
const LADDER_COLUMNS: readonly Capturing[] = [...PAIRED_STAGES, 'bare', 'thread'];
const recordSteps = (process.env['BENCH_RECORD_STEPS'] ?? '100,200').split(',').filter(Boolean).map(Number);
if (recordSteps.length > 0) {
  const repeats = Math.max(1, Number(process.env['BENCH_RECORD_REPEATS'] ?? '3'));
  console.log('recording cost: the same relay load through each stage of the recording path, each stage one step further:');
  console.log('place (on the call\'s clock with the gate and the 1 s lookback; audio counted), capture (and in-band detection),');
  console.log('seal (and sealed in memory), spool (and written to the spool), record (and uploaded to an fs store: the gateway).');
  console.log('Each stage runs in its own process at the same time as a relayed-only process on the same core, so both see the');
  console.log('same machine; each cell is the stage\'s CPU ms per call per second and its ratio to the relayed-only run beside it.');
  console.log('bare, off the ladder, is its floor: each payload handed from the tap straight to the segment writer, sealed and');
  console.log('spooled, with no call clock, gate, lookback, detection or upload: the least a recording in the relaying process pays.');
  console.log('thread, off the ladder too, is record moved to a worker thread (on the peer core): the tap copies each packet into a');
  console.log('shared ring; every 100 ms the thread drains it and flushes every leg. Its cell counts every thread\'s CPU, as every cell does.');
  if (FAR_END_CORE !== PEER_CORE) console.log('BENCH_QUIET_RECORDER: the far ends share the relays\' core; the recorder thread has the other to itself');
  console.log(`${repeats} rounds per step, the stages in a rotated order each round\n`);
  console.log(`calls  round  ${LADDER_COLUMNS.map((s) => s.padStart(14)).join('')}  relayed-only  loss%`);
  for (const n of recordSteps) {
    const ratios = new Map<Capturing, number[]>(LADDER_COLUMNS.map((s) => [s, []]));
    /** The relaying thread's CPU over the relayed-only run's main thread. */
    const mainRatios = new Map<Capturing, number[]>(LADDER_COLUMNS.map((s) => [s, []]));
    const relayedCpu: number[] = [];
    for (let k = 0; k < repeats; k++) {
      // Rotating the order keeps a drift in the machine's load from landing on one stage every round.
      const order = LADDER_COLUMNS.map((_, i) => LADDER_COLUMNS[(i + k) % LADDER_COLUMNS.length] as Capturing);
      const figures = new Map<Capturing, PairedFigures>();
      for (const stage of order) figures.set(stage, await measurePaired(stage, n, seconds));
      const cells = LADDER_COLUMNS.map((stage) => {
        const f = figures.get(stage);
        const r = f ? f.recorded.cpuMsPerCallSecond / f.relayed.cpuMsPerCallSecond : NaN;
        ratios.get(stage)?.push(r);
        if (f) mainRatios.get(stage)?.push(f.recorded.mainCpuMsPerCallSecond / f.relayed.mainCpuMsPerCallSecond);
        if (f) relayedCpu.push(f.relayed.cpuMsPerCallSecond);
        return `${f2(f?.recorded.cpuMsPerCallSecond ?? NaN)} ${f2(r)}x`.padStart(14);
      });
      const loss = Math.max(...[...figures.values()].flatMap((f) => [f.recorded.lossPct, f.relayed.lossPct]));
      const relayedRound = median([...figures.values()].map((f) => f.relayed.cpuMsPerCallSecond));
      console.log([String(n).padStart(5), String(k + 1).padStart(6), ' ', cells.join(''), f2(relayedRound).padStart(14), f2(loss).padStart(7)].join(''));
    }
    const medianOf = (stage: Capturing): number => median(ratios.get(stage) ?? []);
    const medians = LADDER_COLUMNS.map(medianOf);
    const spread = LADDER_COLUMNS.map((stage) => {
      const rs = ratios.get(stage) ?? [];
      return `${f2(Math.min(...rs))}-${f2(Math.max(...rs))}`.padStart(14);
    });
    console.log([String(n).padStart(5), ' median', medians.map((m) => `${f2(m)}x`.padStart(14)).join(''), f2(median(relayedCpu)).padStart(14)].join(''));
    console.log([String(n).padStart(5), ' spread', spread.join('')].join(''));
    const stageMedians = PAIRED_STAGES.map(medianOf);
    console.log([String(n).padStart(5), '  added', stageMedians.map((m, i) => signed(m - (i === 0 ? 1 : (stageMedians[i - 1] ?? NaN))).padStart(14)).join('')].join(''));
    console.log(`${String(n).padStart(5)} calls: recorded costs ${f2(stageMedians.at(-1) ?? NaN)}x the relayed-only CPU beside it (median of ${repeats} paired rounds);`);
    console.log(`${' '.repeat(12)}the bare floor under it, ${f2(medianOf('bare'))}x;`);
    const mainOf = (stage: Capturing): string => `${f2(median(mainRatios.get(stage) ?? []))}x`;
    console.log(`${' '.repeat(12)}on a thread of its own, ${f2(medianOf('thread'))}x in all, the relaying thread ${mainOf('thread')} (in the relaying thread: ${mainOf('record')})\n`);
  }
}

if (callSteps.length > 0) {
  const repeats = Math.max(1, Number(process.env['BENCH_CALL_REPEATS'] ?? '1'));
  console.log(`whole calls: SIPp trunk and agent queue (on their own core), N concurrent calls with pcap audio both ways, through the gateway;`);
  console.log(`the same line unrecorded and recorded (announced, captured, sealed, spooled, uploaded to an fs store), each gateway in its own`);
  console.log(`process at the same time on the same core, ${repeats} paired round(s) per step; CPU over ${seconds} s once every call is answered\n`);
  console.log('calls  line        completed  failed  packets expected  relayed   loss%  dropped-src  cpu ms/c/s  mem KiB/c');
  for (const n of callSteps) {
    const ratios: number[] = [];
    let worstLoss = 0;
    let failedCalls = 0;
    for (let k = 0; k < repeats; k++) {
      const pair = await measureCallsPaired(n, seconds);
      for (const recording of ['unrecorded', 'recorded'] as const) {
        const r = pair[recording];
        console.log([String(r.calls).padStart(5), ` ${recording.padEnd(10)}`, String(r.completed).padStart(10), String(r.failed).padStart(7), String(r.packetsExpected).padStart(17), String(r.packetsRelayed).padStart(8), f2(r.lossPct).padStart(7), String(r.droppedSource).padStart(12), f2(r.cpuMsPerCallSecond).padStart(11), f1(r.memKiBPerCall).padStart(10)].join(' '));
        worstLoss = Math.max(worstLoss, r.lossPct);
        failedCalls += r.failed;
      }
      ratios.push(pair.recorded.cpuMsPerCallSecond / pair.unrecorded.cpuMsPerCallSecond);
    }
    console.log(`${String(n).padStart(5)} calls: recorded costs ${f2(median(ratios))}x the unrecorded CPU beside it (median of ${repeats} paired round(s): ${ratios.map(f2).join(', ')})`);
    // Two gateways share one core here: past about 150 calls each they fill it, and a gateway that drops
    // packets or calls did less work than its calls asked for, so its CPU (and the ratio) reads low.
    if (worstLoss > 0 || failedCalls > 0) {
      console.log(`${' '.repeat(12)}not a measure of recording: ${f2(worstLoss)}% of packets lost at worst, ${failedCalls} call(s) failed; the core was full, so the ratio reads low; take a smaller step`);
    }
    console.log('');
  }
}
