/**
 * Runs SIPp (the Debian package sip-tester) as a trunk or an agent queue: for
 * the demo, the tests and the load benchmark. SIPp plays RTP from pcap files
 * from its media port, so the SDP it sends names the address it sends from.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../ops/paths.js';

/** Where Debian's sip-tester installs its sample pcaps (G.711 A-law speech, RFC 4733 digits). */
export const SIPP_PCAP_DIR = '/usr/share/sip-tester';
export const SCENARIO_DIR = join(PROJECT_ROOT, 'sip-test');

export interface SippOptions {
  /** File name under sip-test/, or an absolute path. */
  readonly scenario: string;
  readonly localPort: number;
  readonly mediaPort: number;
  /** host:port of the peer; absent for a server (uas) scenario. */
  readonly remote?: string;
  readonly service?: string;
  readonly transport?: 'udp' | 'tcp';
  readonly ip?: string;
  readonly mediaIp?: string;
  /** Calls to make or take before exiting (-m). */
  readonly calls?: number;
  /** Calls per second and at most this many at once (-r, -l). */
  readonly rate?: number;
  readonly limit?: number;
  /** The scenario's <pause/> length in ms (-d). */
  readonly pauseMs?: number;
  readonly timeoutSec?: number;
  /** Keep every SIP message SIPp sent and received (read with messages()). */
  readonly traceMessages?: boolean;
  readonly extraArgs?: readonly string[];
}

export interface SippResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The tail of SIPp's screen (its message table and counters), for a failing test's message. */
  readonly screen: string;
  /** SIPp's error log: why a call failed (an unexpected message, a timeout), when one did. */
  readonly errors: string;
  /** SIP messages exchanged, when traceMessages was set. */
  readonly messages: string;
}

export function sippAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v sipp'], { stdio: 'ignore' }).status === 0;
}

export function scenarioPath(name: string): string {
  return name.startsWith('/') ? name : join(SCENARIO_DIR, name);
}

export class Sipp {
  readonly done: Promise<SippResult>;
  private readonly child;
  private readonly dir = mkdtempSync(join(tmpdir(), 'recgw-sipp-'));

  constructor(readonly opts: SippOptions) {
    const args = [
      '-sf', scenarioPath(opts.scenario),
      '-i', opts.ip ?? '127.0.0.1',
      '-p', String(opts.localPort),
      '-mi', opts.mediaIp ?? opts.ip ?? '127.0.0.1',
      '-mp', String(opts.mediaPort),
      '-t', opts.transport === 'tcp' ? 't1' : 'u1',
      '-m', String(opts.calls ?? 1),
      '-timeout', `${opts.timeoutSec ?? 30}s`,
      '-timeout_error',
      '-nostdin',
      '-trace_err',
      '-error_file', join(this.dir, 'errors.log'),
      ...(opts.rate !== undefined ? ['-r', String(opts.rate)] : []),
      ...(opts.limit !== undefined ? ['-l', String(opts.limit)] : []),
      ...(opts.pauseMs !== undefined ? ['-d', String(opts.pauseMs)] : []),
      ...(opts.service !== undefined ? ['-s', opts.service] : []),
      ...(opts.traceMessages ? ['-trace_msg', '-message_file', join(this.dir, 'messages.log')] : []),
      ...(opts.extraArgs ?? []),
      ...(opts.remote !== undefined ? [opts.remote] : []),
    ];
    this.child = spawn('sipp', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('latin1')).slice(-4000);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.done = new Promise((resolveDone) => {
      this.child.once('close', (code, signal) => {
        const result: SippResult = { code, signal, screen: tail, errors: this.read('errors.log'), messages: this.read('messages.log') };
        rmSync(this.dir, { recursive: true, force: true });
        resolveDone(result);
      });
      this.child.once('error', (err) => {
        tail += `\n${err.message}`;
      });
    });
  }

  private read(name: string): string {
    try {
      return readdirSync(this.dir).includes(name) ? readFileSync(join(this.dir, name), 'latin1') : '';
    } catch {
      return '';
    }
  }

  /** The SIPp process's id (undefined if it failed to start): the benchmark moves it to its own core. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
