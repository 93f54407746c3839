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
 * Moves a peer that was spawned from this process (and so inherited core 0)
 * to the peer core, every thread it has so far; threads it starts later
 * inherit the new core.
 */
export function toPeerCore(pid: number | undefined): void {
  if (PEER_CORE === undefined || pid === undefined) return;
  spawnSync('taskset', ['-a', '-p', '-c', PEER_CORE, String(pid)], { stdio: 'ignore' });
}
