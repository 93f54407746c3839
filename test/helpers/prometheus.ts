/**
 * A real Prometheus server from Debian's package, on loopback, scraping one
 * target every second with a bearer token, its data in a temp dir that stop()
 * removes. Tests ask it what it scraped through its HTTP API, as a dashboard
 * or an alert rule would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/cli/free-port.js';

export interface Prometheus {
  /** The value of an instant query's single series; undefined while it has none. */
  query(expr: string): Promise<number | undefined>;
  /** The target's scrape state, as Prometheus reports it. */
  target(): Promise<{ health: string; lastError: string } | undefined>;
  /** What Prometheus printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

const withPdeathsig = spawnSync('sh', ['-c', 'command -v setpriv'], { stdio: 'ignore' }).status === 0;

export async function startPrometheus(opts: { target: string; token: string; path?: string }): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-prometheus-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, opts.token, { mode: 0o600 });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s }',
      'scrape_configs:',
      '  - job_name: recgw',
      `    metrics_path: ${opts.path ?? '/metrics'}`,
      `    authorization: { type: Bearer, credentials_file: ${tokenFile} }`,
      `    static_configs: [{ targets: ['${opts.target}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const args = [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  // Prometheus dies with the test process even when that is killed.
  const child: ChildProcess = spawn(withPdeathsig ? 'setpriv' : 'prometheus', withPdeathsig ? ['--pdeathsig', 'SIGKILL', 'prometheus', ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  child.stdout?.on('data', (d: Buffer) => (printed += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (printed += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited at start: ${printed}`);
    }
    const ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`prometheus not ready within 20 s: ${printed}`);
    }
    await sleep(100);
  }

  return {
    async query(expr) {
      const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await r.json()) as { status: string; data?: { result: { value: [number, string] }[] }; error?: string };
      if (body.status !== 'success') throw new Error(`prometheus query ${expr}: ${body.error ?? r.status}`);
      const [first] = body.data?.result ?? [];
      return first ? Number(first.value[1]) : undefined;
    },
    async target() {
      const r = await fetch(`${base}/api/v1/targets?state=active`);
      const body = (await r.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
      const [t] = body.data.activeTargets;
      return t ? { health: t.health, lastError: t.lastError } : undefined;
    },
    output: () => printed,
    stop,
  };
}
