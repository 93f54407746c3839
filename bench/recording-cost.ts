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
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RECORDING_STAGES, relayPortSpan, type Capturing, type RelayFigures } from './relay.js';

export interface PairedFigures {
  /** The stage, measured while the relayed-only run below ran beside it. */
  readonly recorded: RelayFigures;
  readonly relayed: RelayFigures;
}

const child = fileURLToPath(new URL('./relay-child.ts', import.meta.url));

function runChild(stage: Capturing, calls: number, seconds: number, portBase: number): Promise<RelayFigures> {
  return new Promise((resolve, reject) => {
    // Inherits this process's core (the system under test's); its far ends move to the peer core.
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', child, stage, String(calls), String(seconds), String(portBase)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`relay child for ${stage} exited ${String(code)}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as RelayFigures);
    });
  });
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
