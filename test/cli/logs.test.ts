/**
 * `recgw logs` as the on-call engineer runs it: a separate process following
 * a running gateway's log through its control API while SIPp places a call,
 * each of the call's lines arriving as it happens, until the gateway stops.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/cli/free-port.js';
import { startCall } from '../helpers/calls.js';
import { startTestGateway, TEST_CONTROL_TOKEN } from '../helpers/gateway.js';
import { CLI } from '../helpers/cli.js';

test('recgw logs follows a call live with an operator\'s token, only its line, and ends when the gateway stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const opsToken = join(dir, 'ops-token');
  writeFileSync(opsToken, 'ops-console-token-0123456789\n', { mode: 0o600 });
  const gw = await startTestGateway({ controlClients: [{ name: 'ops-console', role: 'operator', tokenFile: opsToken }] });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await gw.stop();
  });
  const config = join(dir, 'logs-client.yaml');
  writeFileSync(config, `control: { listen: 127.0.0.1, port: ${gw.running.control?.port ?? 0} }\n`);

  const child = spawn(process.execPath, [...CLI, 'logs', '--config', config, '--token-file', opsToken, '--line', 'helpline', '--tail', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill());
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = once(child, 'exit');
  // The follower is in once the gateway says so.
  for (let i = 0; i < 200 && !gw.logTail().includes('log follower joined'); i++) await sleep(25);
  assert.match(gw.logTail(), /log follower joined/, `recgw logs connected (stderr: ${err})`);
  assert.match(gw.logTail(), /"client":"ops-console".*log follower joined/, 'the follower is known by its token\'s name');

  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 1000 } });
  const { summary } = await finished;
  for (let i = 0; i < 100 && !out.includes('"call ended"'); i++) await sleep(20);

  const lines = out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg: string; callId?: string; line?: string });
  const msgs = lines.map((l) => l.msg);
  for (const m of ['call started', 'capture started', 'capture stopped', 'call ended']) assert.ok(msgs.includes(m), `"${m}" came live (got: ${msgs.join(', ')})`);
  assert.ok(msgs.indexOf('call started') < msgs.indexOf('call ended'));
  assert.ok(lines.every((l) => l.line === 'helpline' && l.callId === summary.callId), 'only the line\'s lines, all of this call');

  stopped = true;
  await gw.stop();
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, `recgw logs ends cleanly when the gateway stops (stderr: ${err})`);
});

test('recgw logs says why when no gateway listens, or when there is no token to send', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `control: { listen: 127.0.0.1, port: ${port}, token: ${TEST_CONTROL_TOKEN} }\n`);
  const down = spawnSync(process.execPath, [...CLI, 'logs', '--config', config], { encoding: 'utf8' });
  assert.equal(down.status, 1);
  assert.match(down.stderr, new RegExp(`cannot follow ws://127.0.0.1:${port}/logs: .*ECONNREFUSED.* \\(is the gateway running\\?\\)`));

  const noToken = join(dir, 'no-token.yaml');
  writeFileSync(noToken, `control: { listen: 127.0.0.1, port: ${port}, tokenFile: ${JSON.stringify(join(dir, 'control-token'))} }\n`);
  const missing = spawnSync(process.execPath, [...CLI, 'logs', '--config', noToken], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /control\.tokenFile.*does not exist yet: the gateway makes it on its first start/);
});
