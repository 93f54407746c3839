/**
 * SIPp, a real SIP implementation, against the engine: SIPp's built-in uac
 * calls the engine, and the engine calls SIPp's built-in uas, over UDP and TCP.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedSipEngine } from '../../../src/sip/embedded/engine.js';
import type { DialogEndReason } from '../../../src/sip/engine.js';
import { sdp, startEngine, waitFor } from '../helpers.js';

const haveSipp = spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error === undefined;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

interface SippRun {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  errors(): string;
}

function runSipp(args: string[]): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-sipp-'));
  const child = spawn('sipp', [...args, '-nostdin', '-timeout', '20s', '-trace_err', '-i', '127.0.0.1'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    child,
    exit,
    errors: () => {
      const logs = readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, f), 'utf8'));
      return `${stderr}\n${logs.join('\n')}`.slice(0, 4000);
    },
  };
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function engine(): Promise<EmbeddedSipEngine> {
  // Short timers so the transactions are gone within seconds (64*T1 = 3.2 s); SIPp keeps its own.
  const e = await startEngine({ timers: { t1: 50, t2: 400, t4: 500 } });
  cleanup.push(() => e.close());
  return e;
}

for (const [transport, mode] of [['udp', 'u1'], ['tcp', 't1']] as const) {
  test(`sipp -sn uac calls the engine over ${transport}`, { skip: haveSipp ? false : 'sipp not installed' }, async () => {
    const e = await engine();
    const ended: DialogEndReason[] = [];
    e.on('invite', (req, res) => {
      res.send(180);
      e.createUAS(req, res, { localSdp: sdp(7000) }).then(
        (d) => d.on('destroy', (reason) => ended.push(reason)),
        () => undefined,
      );
    });
    const sipp = runSipp([`127.0.0.1:${e.local.port}`, '-sn', 'uac', '-m', '1', '-d', '200', '-s', '1000', '-t', mode]);
    const code = await sipp.exit;
    assert.equal(code, 0, sipp.errors());
    assert.deepEqual(ended, ['bye']);
    await waitFor('stats back to 0', () => e.stats.dialogs === 0 && e.stats.transactions === 0, 10_000);
    assert.equal(e.stats.malformed, 0);
  });

  test(`the engine calls sipp -sn uas over ${transport}`, { skip: haveSipp ? false : 'sipp not installed' }, async () => {
    const e = await engine();
    const port = await freePort();
    const sipp = runSipp(['-sn', 'uas', '-m', '1', '-p', String(port), '-t', mode]);
    // SIPp needs a moment to bind; the INVITE is retransmitted over UDP, and over TCP we retry the connect.
    let dialog;
    for (let attempt = 0; ; attempt++) {
      try {
        dialog = await e.createUAC(`sip:service@127.0.0.1:${port}${transport === 'tcp' ? ';transport=tcp' : ''}`, { localSdp: sdp(7000) });
        break;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.match(dialog.remote.sdp, /m=audio/);
    await dialog.destroy();
    const code = await sipp.exit;
    assert.equal(code, 0, sipp.errors());
    await waitFor('stats back to 0', () => e.stats.dialogs === 0 && e.stats.transactions === 0, 15_000);
  });
}
