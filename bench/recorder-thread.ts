/**
 * The `thread` stage: the `record` stage's work moved off the relaying thread.
 * Each leg's tap copies the packet into a PacketRing in shared memory; a
 * worker thread, on the peer core where there is one, drains the ring every
 * 100 ms and places, detects, seals, spools and uploads as `record` does. It
 * answers whether recording costs less CPU, or only less of the relaying
 * thread's, once it has a thread of its own.
 */
import { Worker } from 'node:worker_threads';
import type { MediaLeg } from '../src/media/leg.js';
import type { PortAllocator } from '../src/media/ports.js';
import { PEER_CORE } from './cores.js';
import { aimLegs, bridgedCall } from './loopback-legs.js';
import { PacketRing } from './packet-ring.js';
import type { System } from './relay.js';

/** What the worker is given. `timeOrigin` is the relaying thread's: the worker's performance.now() counts from its own start. */
export interface RecorderThreadInput {
  readonly shared: SharedArrayBuffer;
  readonly legs: number;
  readonly t0: number;
  readonly timeOrigin: number;
  readonly core: string | undefined;
}

export type RecorderThreadReply = { readonly ready: true } | { readonly stopped: true; readonly packets: number };

/**
 * The worker's module is TypeScript: the thread gets the same loader as this
 * one before importing it (a Worker does not inherit the main thread's).
 */
function startWorker(input: RecorderThreadInput): Worker {
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./recorder-thread-worker.ts', import.meta.url).href)}); });`;
  return new Worker(boot, { eval: true, workerData: input });
}

function nextReply(worker: Worker): Promise<RecorderThreadReply> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      worker.off('message', onMessage);
      reject(err);
    };
    const onMessage = (m: RecorderThreadReply): void => {
      worker.off('error', onError);
      resolve(m);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

export async function recorderThreadSystem(allocator: PortAllocator, calls: number): Promise<System> {
  const ring = new PacketRing(new SharedArrayBuffer(PacketRing.bytes));
  const t0 = performance.now();
  const worker = startWorker({ shared: ring.shared, legs: calls * 2, t0, timeOrigin: performance.timeOrigin, core: PEER_CORE });
  await nextReply(worker);
  const legs: MediaLeg[] = [];
  let pushed = 0;
  for (let i = 0; i < calls; i++) {
    const [a, b] = await bridgedCall(allocator);
    for (const leg of [a, b]) {
      // Leg i of the worker's captures: even the caller, odd the agent of call i / 2.
      const index = legs.length;
      legs.push(leg);
      leg.tap = (packet, view, arrivalMs) => {
        if (ring.push(index, packet, view, arrivalMs)) pushed++;
      };
    }
  }
  return {
    ports: legs.map((l) => l.localPort),
    setTargets: (peers) => aimLegs(legs, peers),
    close: async () => {
      for (const l of legs) l.close();
      const stopped = nextReply(worker);
      worker.postMessage('stop');
      const reply = await stopped;
      await worker.terminate();
      // A measurement that lost audio measured less than recording: it must not print as one.
      const taken = 'packets' in reply ? reply.packets : -1;
      if (ring.dropped > 0 || taken !== pushed) throw new Error(`recorder thread: ${ring.dropped} packets not taken (ring full, or longer than a slot), and it took ${taken} of ${pushed}`);
    },
  };
}
