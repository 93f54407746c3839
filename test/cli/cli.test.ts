/**
 * The `recgw` command as a user runs it: a bad config names every bad field
 * and exits non-zero; `start` serves SIP on the configured port and stops
 * cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { waitForSip } from '../helpers/process.js';
import { startRecgw } from '../helpers/cli.js';

test('recgw start with a bad config names every bad field in one error and exits 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, ['sip:', '  port: 70000', '  transprots: [udp]', 'rtp:', '  portMin: 30001', 'lines:', '  - { number: "1000", name: x, target: "http://nope", record: true }', ''].join('\n'));
  const { done } = startRecgw(['start', '--config', file]);
  const r = await done;
  assert.equal(r.code, 2, r.err);
  for (const field of ['sip.port', 'sip.transprots', 'rtp.portMin', 'lines[0].target']) assert.match(r.err, new RegExp(field.replace(/[.[\]]/g, '\\$&')), `names ${field}`);
  assert.equal(r.err.match(/invalid configuration/g)?.length, 1, 'one error');
});

test('recgw start on the embedded defaults, port from the environment: answers OPTIONS, stops on SIGTERM', async (t) => {
  const port = await freePort();
  const { child, done } = startRecgw(['start'], { RECGW_SIP__PORT: String(port), RECGW_RTP__PORTMIN: '45000', RECGW_RTP__PORTMAX: '45099', RECGW_CONTROL__PORT: '0' });
  t.after(() => child.kill('SIGKILL'));
  // The process needs a moment to transcode the announcement and bind: ask until it answers, or say why it died.
  const reply = await Promise.race([waitForSip(port), done.then((r) => `exited ${String(r.code)}: ${r.err}`)]);
  assert.match(reply, /^SIP\/2\.0 200/, reply);
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"msg":"gateway listening"/);
  assert.match(r.out, /"msg":"gateway stopped"/);
});
