/**
 * With taskset and two or more cores, the system under test runs on core 0 and
 * its peers (the far ends, SIPp) on core 1: otherwise both fight for the same
 * cores and the figures measure the scheduler more than the gateway. Pinning
 * happens once, when this module is first imported.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export const PEER_CORE: string | undefined = (() => {
  if (cpus().length < 2 || spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status !== 0) return undefined;
  spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  return '1';
})();

/**
 * Where the relay benches' far ends run: the peer core, or, with
 * BENCH_QUIET_RECORDER=1, the system-under-test core beside the relays, which
 * leaves the peer core to the `thread` stage's recorder thread alone. That
 * asks whether recording costs less on a core of its own; the relays' figures
 * then stand beside far ends on their core, so only the paired ratios compare
 * with a normal run's.
 */
export const FAR_END_CORE: string | undefined = process.env['BENCH_QUIET_RECORDER'] === '1' && PEER_CORE !== undefined ? '0' : PEER_CORE;

/**
 * Moves a peer that was spawned from this process (and so inherited core 0)
 * to the peer core, every thread it has so far; threads it starts later
 * inherit the new core.
 */
export function toPeerCore(pid: number | undefined): void {
  if (PEER_CORE === undefined || pid === undefined) return;
  spawnSync('taskset', ['-a', '-p', '-c', PEER_CORE, String(pid)], { stdio: 'ignore' });
}
