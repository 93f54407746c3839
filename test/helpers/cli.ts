/** The `recgw` command as a user runs it, in a process of its own. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Node's arguments that run the command from the sources. */
export const CLI = ['--import', 'tsx', join(import.meta.dirname, '../../src/cli/main.ts')];

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs the command to its end, this process waiting: for a command that needs nothing of it. */
export function recgw(args: readonly string[]): CliResult {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts the command beside this process, so a gateway running in it answers meanwhile: the child, and its end with all it printed. */
export function startRecgw(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { child, done: new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err }))) };
}
