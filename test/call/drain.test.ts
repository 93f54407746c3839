/**
 * A restart that cuts no one off: the gateway drains first. New calls and
 * OPTIONS pings get 503 (so a trunk sends its calls to another gateway) while
 * the calls up carry on to their own end, recorded whole; then it stops. A
 * drain that runs out, or a second signal, ends the calls still up with BYE.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/cli/free-port.js';
import { Sipp } from '../../src/cli/sipp.js';
import type { DrainState } from '../../src/call/gateway.js';
import { FsStore } from '../../src/storage/fs.js';
import { assertRefused, assertSippOk, sippMediaPort, startCall } from '../helpers/calls.js';
import { controlApi, eventually, startTestGateway } from '../helpers/gateway.js';
import { gatewayFiles, spawnGateway, waitForSip } from '../helpers/process.js';

test('draining: new calls and OPTIONS get 503, the call up carries on to its own end and is recorded whole, then the gateway stops', async (t) => {
  const gw = await startTestGateway({ pipeline: true });
  t.after(() => gw.stop());
  assert.match(await waitForSip(gw.sipPort), /^SIP\/2\.0 200/);
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 8000 } });
  const call = await started.call;
  await new Promise<void>((resolve) => call.once('answered', resolve));

  let stoppedAt = 0;
  const stopped = gw.running.stop({ drainMs: 60_000 }).then(() => (stoppedAt = Date.now()));
  await eventually('draining', () => gw.running.gateway.draining !== undefined);
  const ping = await waitForSip(gw.sipPort);
  assert.match(ping, /^SIP\/2\.0 503/, 'a trunk pinging with OPTIONS takes the gateway out of its rotation');
  assert.match(ping, /\r\nRetry-After: 60\r\n/i);
  assert.match(await assertRefused(t, gw), /\r\nRetry-After: 60\r\n/i);

  // The control API still answers while the call is up.
  const health = await controlApi(gw, 'GET', '/health');
  const draining = health.body['draining'] as DrainState | undefined;
  assert.ok(draining !== undefined && Date.parse(draining.deadline) - Date.parse(draining.since) === 60_000, JSON.stringify(draining));
  assert.deepEqual(health.body['refused'], { notTrunk: 0, noLine: 0, recordingUnavailable: 0, draining: 1 });
  assert.equal(stoppedAt, 0, 'still draining');

  const { summary } = await started.finished;
  assert.equal(summary.reason, 'caller-bye', 'the call ended when the caller hung up, not before');
  assert.equal(summary.recording, 'complete');
  await stopped;
  assert.ok(stoppedAt >= Date.parse(summary.startedAt) + summary.durationMs, 'stopped once the call had ended');
  const keys: string[] = [];
  for await (const o of new FsStore({ dir: gw.storeDir }).list('')) keys.push(o.key.replace(/^.*\//, ''));
  assert.deepEqual(keys.sort(), ['agent-1.rec', 'caller-1.rec', 'manifest-start.rec', 'manifest.rec'], 'and its recording reached the store');
});

test('a drain that runs out ends the calls still up with BYE, each recorded to that moment', async (t) => {
  const gw = await startTestGateway({ pipeline: true });
  t.after(() => gw.stop());
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml', timeoutSec: 30 }, caller: { scenario: 'caller-wait-bye.xml', timeoutSec: 30 } });
  const call = await started.call;
  await new Promise<void>((resolve) => call.once('answered', resolve));
  const drainFrom = Date.now();
  await gw.running.stop({ drainMs: 1500 });
  const { summary } = await started.finished;
  assert.equal(summary.reason, 'gateway-shutdown');
  assert.equal(summary.recording, 'complete');
  assert.ok(Date.now() - drainFrom >= 1500, 'not before the drain ran out');
});

test('recgw start drains on SIGTERM (an echo of it straight after changes nothing), and a second SIGTERM ends the call still up with BYE; the process exits 0', async (t) => {
  const { configFile, sipPort, agentPort } = await gatewayFiles(t, 'drain', { portMin: 47200, portMax: 47399 }, (dir) => [
    'control: { enabled: false }',
    `audit: { file: ${JSON.stringify(join(dir, 'audit.log'))} }`,
    'shutdown: { drainSeconds: 600 }',
  ]);
  const gateway = spawnGateway(configFile);
  t.after(() => gateway.child.kill('SIGKILL'));
  await waitForSip(sipPort);
  const agent = new Sipp({ scenario: 'agent.xml', localPort: agentPort, mediaPort: await sippMediaPort(), timeoutSec: 30 });
  const caller = new Sipp({ scenario: 'caller-wait-bye.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${sipPort}`, service: '1000', timeoutSec: 30 });
  t.after(() => (caller.kill(), agent.kill()));
  await gateway.waitForLog('capture started', 30_000);

  gateway.child.kill('SIGTERM');
  // Under `npm start` a Ctrl-C arrives twice, from the terminal and forwarded by npm: the echo is not a second request.
  gateway.child.kill('SIGTERM');
  const draining = await gateway.waitForLog('draining: new calls refused, the calls up carry on');
  assert.equal(draining['calls'], 1);
  assert.match(await waitForSip(sipPort), /^SIP\/2\.0 503/);
  await sleep(1500);
  assert.equal(gateway.child.exitCode, null, 'the call is up: the gateway waits');
  assert.ok(!gateway.lines.some((l) => l.includes('second signal')), 'the echo did not cut the drain short');

  gateway.child.kill('SIGTERM');
  await gateway.waitForLog('second signal: ending the calls still up now');
  const ended = await gateway.waitForLog('call ended');
  assert.equal(ended['reason'], 'gateway-shutdown');
  assert.equal(await gateway.exited, 0);
  assertSippOk('caller', await caller.done);
  assertSippOk('agent', await agent.done);
});
