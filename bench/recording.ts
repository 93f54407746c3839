/**
 * What the recording path behind capture costs per leg, without sockets: the
 * legs' audio handed to the gateway's segment writer every 100 ms (a fifth of
 * the legs each 20 ms tick, as the CaptureClock flushes), in real time, because
 * the spool and the uploader do real file I/O. Rows, in one run:
 *
 * - `idle`: the same legs and tick, nothing written: what waking 50 times a
 *   second costs this machine, which every other row pays too;
 * - `seal`: each leg's audio sealed into 0.5 s chunks in memory, dropped;
 * - `spool`: sealed and written to the spool (one write per chunk);
 * - `upload`: and uploaded to an fs store while the call runs, as the gateway does.
 */
import type { SegmentSink } from '../src/recording/writer.js';
import { audioSinks, mainThreadCpuMs, type Capturing } from './relay.js';

export type RecordingVariant = 'idle' | 'seal' | 'spool' | 'upload';

export interface RecordingFigures {
  readonly variant: RecordingVariant;
  /** CPU µs per second of one leg's audio, all threads. */
  readonly usPerLegSecond: number;
  /** The part of it on the main thread; the rest is the file-system pool and V8's helpers. */
  readonly mainUsPerLegSecond: number;
}

const TICK_MS = 20;
/** The CaptureClock's slices: each leg is flushed every fifth tick, 800 bytes of G.711 each time. */
const SLICES = 5;
const FLUSH_BYTES = (8000 * TICK_MS * SLICES) / 1000;

/** The segment writer's sinks each row writes to (the idle row opens them and writes nothing). */
const STAGE: Readonly<Record<RecordingVariant, Capturing>> = { idle: 'seal', seal: 'seal', spool: 'spool', upload: 'record' };

async function run(variant: RecordingVariant, legs: number, seconds: number): Promise<RecordingFigures> {
  const stage = await audioSinks(STAGE[variant]);
  if (!stage) throw new Error(`no sinks for ${variant}`);
  const sinks: SegmentSink[] = [];
  for (let i = 0; i < legs; i++) {
    sinks.push(stage.open({ callId: `bench-${i >> 1}`, leg: i % 2 === 0 ? 'caller' : 'agent', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt: new Date(), callStartedAt: new Date(), line: 'bench', direction: 'inbound' }));
  }
  const audio = Buffer.alloc(FLUSH_BYTES, 0xd5);
  const write = variant !== 'idle';
  // Let the spool create its files before the clock starts.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadCpuMs();
  const wallBefore = performance.now();
  await new Promise<void>((resolve) => {
    let tick = 0;
    const timer = setInterval(() => {
      if (write) for (let i = tick % SLICES; i < legs; i += SLICES) sinks[i]?.write(audio);
      if (++tick >= (seconds * 1000) / TICK_MS) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  const cpu = process.cpuUsage(cpuBefore);
  const mainMs = mainThreadCpuMs() - mainBefore;
  const legSeconds = legs * ((performance.now() - wallBefore) / 1000);
  await Promise.all(sinks.map((s) => s.close()));
  await stage.close();
  return { variant, usPerLegSecond: (cpu.user + cpu.system) / legSeconds, mainUsPerLegSecond: (mainMs * 1000) / legSeconds };
}

export async function measureRecording(legs = 200, seconds = 10): Promise<RecordingFigures[]> {
  const variants: RecordingVariant[] = ['idle', 'seal', 'spool', 'upload'];
  const out: RecordingFigures[] = [];
  for (const variant of variants) {
    globalThis.gc?.();
    out.push(await run(variant, legs, seconds));
  }
  return out;
}
