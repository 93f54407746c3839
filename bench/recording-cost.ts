/**
 * What each stage of the recording path costs against relaying alone, with
 * the machine's drift taken out: every stage runs in a process of its own at
 * the same time as a relayed-only process, both on the same core, each with
 * its own far ends on the peer core. Both see the same neighbours, the same
 * frequency and the same steal, so their ratio holds still where two runs one
 * after the other do not: on this kind of shared machine a relayed-only run
 * alone moved by a fifth from one run to the next, while the paired ratio of
 * each stage stayed within about 0.1 of its median.
 */
import { runBenchChild } from './child.js';
import { RECORDING_STAGES, relayPortSpan, type Capturing, type RelayFigures } from './relay.js';

export interface PairedFigures {
  /** The stage, measured while the relayed-only run below ran beside it. */
  readonly recorded: RelayFigures;
  readonly relayed: RelayFigures;
}

function runChild(stage: Capturing, calls: number, seconds: number, portBase: number): Promise<RelayFigures> {
  return runBenchChild<RelayFigures>('./relay-child.ts', [stage, String(calls), String(seconds), String(portBase)]);
}

/**
 * Below the kernel's ephemeral ports (32768 and up here), where the far ends'
 * sockets bind: two sets of far ends took ports inside a relay's range above it.
 */
const PAIRED_PORT_BASE = 20000;

/** One stage beside a relayed-only run, started together; the two use port ranges apart. */
export async function measurePaired(stage: Capturing, calls: number, seconds: number): Promise<PairedFigures> {
  const [relayed, recorded] = await Promise.all([runChild('none', calls, seconds, PAIRED_PORT_BASE), runChild(stage, calls, seconds, PAIRED_PORT_BASE + relayPortSpan(calls) + 200)]);
  return { recorded, relayed };
}

/** The stages after `none`, in the ladder's order. */
export const PAIRED_STAGES: readonly Capturing[] = RECORDING_STAGES.filter((s) => s !== 'none');
