/**
 * `recgw status` as the on-call engineer and a monitoring check run it: the
 * running gateway's health in words, exit 0 while all is well and 1 when
 * recordings are at risk, when the token is refused or when nothing answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { statusText } from '../../src/cli/status.js';
import { freePort } from '../../src/cli/free-port.js';
import type { HealthView } from '../../src/control/types.js';
import { startCall } from '../helpers/calls.js';
import { eventually, startTestGateway, TEST_CONTROL_TOKEN } from '../helpers/gateway.js';
import { startRecgw, type CliResult } from '../helpers/cli.js';

// The gateway runs in this process: the command must run beside it, not block it.
const recgw = (args: string[]): Promise<CliResult> => startRecgw(args).done;

test('statusText: the problems first, in words, then the figures an engineer reads', () => {
  const view: HealthView = {
    status: 'degraded',
    problems: ['object store refusing uploads: 3 failed attempts since the last success; the spool keeps the recordings and retries'],
    calls: { active: 2, started: 40, ended: 38, recordingsIncomplete: 1 },
    lines: { helpline: { complete: 30, incomplete: 1, unrecorded: 7 } },
    refused: { notTrunk: 3, noLine: 0, recordingUnavailable: 0, draining: 2 },
    draining: { since: '2026-12-08T02:00:00.000Z', deadline: '2026-12-08T02:10:00.000Z' },
    spool: { usedBytes: 3 << 20, maxBytes: 1 << 30, entries: 12, full: false, low: false, failedEntries: 0, oldestSealedAgeSeconds: 95, diskFreeBytes: 20 * 2 ** 30 },
    uploads: { uploaded: 70, failures: 3, failuresSinceSuccess: 3, retrying: 2, queued: 4, waitingLive: 0, uploading: 1, streaming: 1, bytesUploaded: 5 << 20 },
  };
  assert.equal(
    statusText(view),
    [
      'recgw: DEGRADED: recordings at risk (draining since 2026-12-08T02:00:00.000Z; calls up are ended at 2026-12-08T02:10:00.000Z)',
      '  - object store refusing uploads: 3 failed attempts since the last success; the spool keeps the recordings and retries',
      'calls: 2 up, 40 started, 38 ended, 1 recording incomplete',
      'refused: 3 from no trunk, 2 while draining',
      'line helpline: 30 recorded whole, 1 INCOMPLETE, 7 not recorded',
      'spool: 3.0 MiB of 1.0 GiB in 12 entries, the oldest finished one waiting 95 s for the store; 20.0 GiB free on its disk',
      'uploads: 70 stored (5.0 MiB), 1 under way (1 live), 4 queued, 2 retrying; FAILING: 3 attempts since the last success',
      '',
    ].join('\n'),
  );
});

test('recgw status: ok and exit 0 after a recorded call, with a monitor\'s token; --json as is; 1 for a refused token and when nothing answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const monitorToken = join(dir, 'monitor-token');
  writeFileSync(monitorToken, 'monitor-token-0123456789\n', { mode: 0o600 });
  const gw = await startTestGateway({ pipeline: true, controlClients: [{ name: 'nagios', role: 'monitor', tokenFile: monitorToken }] });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await gw.stop();
  });
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 1000 } });
  await finished;
  assert.equal(await gw.running.pipeline?.uploader.drain(20_000), true);
  const config = join(dir, 'client.yaml');
  writeFileSync(config, `control: { listen: 127.0.0.1, port: ${gw.running.control?.port ?? 0} }\n`);

  const ok = await recgw(['status', '--config', config, '--token-file', monitorToken]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^recgw: ok\n/);
  assert.match(ok.out, /\ncalls: 0 up, 1 started, 1 ended\n/);
  assert.match(ok.out, /\nline helpline: 1 recorded whole, 0 not recorded\n/);
  assert.match(ok.out, /\nuploads: [1-9]\d* stored/);

  const json = await recgw(['status', '--json', '--config', config, '--token-file', monitorToken]);
  assert.equal(json.code, 0);
  assert.equal((JSON.parse(json.out) as HealthView).calls.ended, 1);

  const wrong = join(dir, 'wrong-token');
  writeFileSync(wrong, 'not-the-token-0123456789\n', { mode: 0o600 });
  const refused = await recgw(['status', '--config', config, '--token-file', wrong]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /refused \(401\)/);

  stopped = true;
  await gw.stop();
  const gone = await recgw(['status', '--config', config, '--token-file', monitorToken]);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /no answer from http:\/\/127\.0\.0\.1:\d+\/health: .*is the gateway running\?/);
});

test('recgw status: exit 1 and the problem in words while the store refuses uploads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
  // An S3 endpoint where nothing listens.
  const gw = await startTestGateway({ pipeline: true, storage: { kind: 's3', bucket: 'recordings', endpoint: `http://127.0.0.1:${await freePort()}`, pathStyle: true } });
  t.after(() => gw.stop());
  const pipeline = gw.running.pipeline;
  assert.ok(pipeline);
  const entry = pipeline.spool.create({ key: 'helpline/waiting.rec', kind: 'audio', callId: 'waiting', tags: {} });
  entry.append(Buffer.alloc(4096, 0x5a));
  await entry.seal();
  await eventually('an upload refused', () => pipeline.uploader.stats.failuresSinceSuccess > 0, 20_000);
  const config = join(dir, 'client.yaml');
  writeFileSync(config, `control: { listen: 127.0.0.1, port: ${gw.running.control?.port ?? 0}, token: ${TEST_CONTROL_TOKEN} }\n`);
  const degraded = await recgw(['status', '--config', config]);
  assert.equal(degraded.code, 1, degraded.err);
  assert.match(degraded.out, /^recgw: DEGRADED: recordings at risk\n {2}- object store refusing uploads: /);
  assert.match(degraded.out, /FAILING: \d+ attempts? since the last success/);
});
