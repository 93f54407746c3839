/** A gateway in a process of its own, as `recgw start` runs it: for crash and restart tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { generateKeyPair } from '../../src/crypto/keys.js';

export interface GatewayFiles {
  /** The temp dir: the store is `dir/store`, the spool `dir/spool`. */
  readonly dir: string;
  readonly configFile: string;
  readonly keys: ReturnType<typeof generateKeyPair>;
  readonly sipPort: number;
  /** Where line 1000's agent queue is to listen. */
  readonly agentPort: number;
}

/**
 * A temp dir (removed when the test ends) with a key pair and the config of
 * a gateway to run in a process of its own: SIP on a free port, line 1000
 * recorded with the built-in announcement to an agent queue on another, an fs
 * store and a spool in the dir, RTP on `rtp` (a range of the test's own);
 * `extra` YAML lines, given the dir, added.
 */
export async function gatewayFiles(t: TestContext, name: string, rtp: { readonly portMin: number; readonly portMax: number }, extra: (dir: string) => readonly string[] = () => []): Promise<GatewayFiles> {
  const dir = mkdtempSync(join(tmpdir(), `recgw-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = generateKeyPair(join(dir, 'keys'));
  const sipPort = await freePort();
  const agentPort = await freePort();
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    [
      `sip: { port: ${sipPort}, timers: { t1: 100, t2: 400, t4: 500 } }`,
      `rtp: { portMin: ${rtp.portMin}, portMax: ${rtp.portMax} }`,
      'lines:',
      `  - { number: "1000", name: helpline, target: "sip:queue@127.0.0.1:${agentPort}", record: true, announcement: { mode: early, file: ${JSON.stringify(join(import.meta.dirname, '../../assets/announcement.wav'))} } }`,
      `storage: { kind: fs, dir: ${JSON.stringify(join(dir, 'store'))} }`,
      `spool: { dir: ${JSON.stringify(join(dir, 'spool'))}, maxBytes: 67108864 }`,
      `encryption: { publicKey: ${JSON.stringify(keys.publicKeyFile)} }`,
      ...extra(dir),
      '',
    ].join('\n'),
  );
  return { dir, configFile, keys, sipPort, agentPort };
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Every log line so far. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first log line whose msg is `msg`. */
  waitForLog(msg: string, ms?: number): Promise<Record<string, unknown>>;
}

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

export function spawnGateway(configFile: string): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of waiters.filter((x) => x.msg === parsed['msg'])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitForLog: (msg, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).find((l) => l['msg'] === msg);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no '${msg}' log line within ${ms} ms; stderr: ${stderr.slice(-2000)}; stdout: ${lines.slice(-5).join('\n')}`)), ms);
        waiters.push({ msg, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      }),
  };
}

/** Sends OPTIONS until the gateway answers (it is then listening); resolves with the answer. */
export async function waitForSip(port: number, ms = 20_000): Promise<string> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const options = [`OPTIONS sip:127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=z9hG4bKwait${Date.now()}`, 'From: <sip:ops@127.0.0.1>;tag=w', `To: <sip:127.0.0.1:${port}>`, `Call-ID: wait-${Date.now()}`, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => sock.send(options, port, '127.0.0.1'), 200);
      const deadline = setTimeout(() => (clearInterval(timer), reject(new Error(`no SIP answer on ${port}`))), ms);
      sock.once('message', (m) => (clearInterval(timer), clearTimeout(deadline), resolve(m.toString())));
    });
  } finally {
    sock.close();
  }
}
