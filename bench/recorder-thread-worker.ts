/**
 * The recorder thread of the `thread` stage (recorder-thread.ts): it moves
 * itself to the peer core, builds the `record` stage's captures and sinks,
 * and every 100 ms drains the ring into them and flushes every one of them,
 * until told to stop.
 *
 * One tick for all legs, where the gateway's CaptureClock spreads its flushes
 * over five slices of the interval: the slices keep the relay from waiting
 * behind every call's flush, and no relay runs on this thread. Each wake of a
 * thread costs CPU of its own, so fewer wakes cost less: with the clock's
 * twenty ticks a second and a drain every 20 ms, this stage read 1.53x at 100
 * calls (four paired rounds); with one tick, 1.41x (1.36x to 1.43x, four rounds).
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { MonotonicClock } from '../src/recording/clock.js';
import type { LegCapture } from '../src/recording/capture.js';
import { PacketRing, type PacketTaker } from './packet-ring.js';
import type { RecorderThreadInput, RecorderThreadReply } from './recorder-thread.js';
import { audioSinks, benchSegment, callGate, legCapture } from './relay.js';

/** The gateway's capture interval (CaptureClock's default). */
const TICK_MS = 100;

const input = workerData as RecorderThreadInput;
const port = parentPort;
if (!port) throw new Error('recorder-thread-worker runs as a worker thread');
const reply = (m: RecorderThreadReply): void => port.postMessage(m);

// Only this thread moves: /proc/thread-self names the calling thread, and the file-system pool stays where it is.
if (input.core !== undefined) {
  const tid = readlinkSync('/proc/thread-self').split('/').at(-1) ?? '';
  spawnSync('taskset', ['-p', '-c', input.core, tid], { stdio: 'ignore' });
}

const sinceRelayOrigin = performance.timeOrigin - input.timeOrigin;
const clock: MonotonicClock = { now: () => performance.now() + sinceRelayOrigin };
const sinks = await audioSinks('record');
if (!sinks) throw new Error('the record stage has sinks');
const captures: LegCapture[] = [];
for (let i = 0; i < input.legs; i += 2) {
  const gate = callGate();
  for (const leg of ['caller', 'agent'] as const) {
    const sink = sinks.open(benchSegment(i / 2, leg));
    const capture = legCapture({ sink, leg, gate, t0: input.t0, detect: true, clock });
    captures.push(capture);
  }
}

const ring = new PacketRing(input.shared);
let packets = 0;
// Placed at once rather than queued: a queued packet would point into a slot the relay may write again.
const take: PacketTaker = (leg, bytes, offset, length, pt, ts, ssrc, arrivalMs) => captures[leg]?.onPacket(bytes, offset, length, pt, ts, ssrc, arrivalMs);
const drain = (): void => {
  packets += ring.drain(take);
};
const timer = setInterval(() => {
  drain();
  const now = clock.now();
  for (const c of captures) c.flush(now);
}, TICK_MS);

port.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  drain();
  const now = clock.now();
  void Promise.all(captures.map((c) => c.stop(now)))
    .then(() => sinks.close())
    .then(() => reply({ stopped: true, packets }));
});
reply({ ready: true });
