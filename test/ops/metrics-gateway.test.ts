/**
 * The running gateway scraped by a real Prometheus with a monitor token: a
 * SIPp call recorded and uploaded, and malformed SIP, and Prometheus holds
 * the figures the gateway's own counters hold.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCall } from '../helpers/calls.js';
import { controlApi, eventually, startTestGateway } from '../helpers/gateway.js';
import { startPrometheus } from '../helpers/prometheus.js';

const MONITOR_TOKEN = 'prometheus-token-0123456789';

async function sendUdp(port: number, messages: readonly string[]): Promise<void> {
  const socket = createSocket('udp4');
  for (const m of messages) await new Promise<void>((resolve, reject) => socket.send(m, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  socket.close();
}

test('Prometheus scrapes the gateway with a monitor token: the call, its RTP, its uploads and the malformed SIP, as the gateway counted them', async (t) => {
  const gw = await startTestGateway({
    pipeline: true,
    retention: { sweep: 'off' },
    controlClients: [{ name: 'prometheus', role: 'monitor', token: MONITOR_TOKEN }],
  });
  t.after(() => gw.stop());
  const { engine, gateway } = gw.running;

  // Not SIP at all (dropped), and a request whose URI is no URI (answered 400).
  const badUri = [
    'OPTIONS gateway SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKmetrics',
    'From: <sip:probe@127.0.0.1>;tag=m1',
    'To: <sip:gateway@127.0.0.1>',
    'Call-ID: metrics-probe',
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  await sendUdp(gw.sipPort, ['this is not SIP\r\n\r\n', badUri]);
  await eventually('both malformed messages counted', () => engine.stats.malformed >= 2);

  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 2000 } });
  const { summary } = await finished;
  assert.equal(summary.recording, 'complete');
  assert.equal(await gw.running.pipeline?.uploader.drain(20_000), true);
  const relayed = (summary.legs.caller?.relayed ?? 0) + (summary.legs.agent?.relayed ?? 0);
  assert.ok(relayed > 100, `${relayed} packets relayed`);

  const port = gw.running.control?.port;
  assert.ok(port);
  const prometheus = await startPrometheus({ target: `127.0.0.1:${port}`, token: MONITOR_TOKEN });
  t.after(() => prometheus.stop());
  let ended: number | undefined;
  const until = Date.now() + 20_000;
  while ((ended = await prometheus.query('recgw_calls_ended_total')) === undefined && Date.now() < until) await sleep(250);
  assert.equal(ended, 1, `a scrape within 20 s: ${JSON.stringify(await prometheus.target())} ${prometheus.output()}`);
  assert.deepEqual(await prometheus.target(), { health: 'up', lastError: '' });
  assert.equal(await prometheus.query('up'), 1);

  const uploaded = gw.running.pipeline?.uploader.stats.uploaded;
  assert.ok(uploaded !== undefined && uploaded >= 4, 'two legs and the manifests');
  const expected: Record<string, number> = {
    recgw_calls_started_total: 1,
    'recgw_line_calls_total{line="helpline",recording="complete"}': 1,
    'recgw_line_calls_total{line="helpline",recording="none"}': 0,
    recgw_recordings_incomplete_total: 0,
    recgw_calls_active: 0,
    recgw_degraded: 0,
    recgw_rtp_packets_relayed_total: relayed,
    recgw_rtp_packets_accepted_total: gateway.media.rtpAccepted,
    recgw_media_dropped_source_total: 0,
    recgw_capture_write_errors_total: 0,
    recgw_sip_messages_malformed_total: engine.stats.malformed,
    recgw_sip_malformed_rejected_total: engine.stats.rejected400,
    recgw_sip_dialogs: 0,
    recgw_uploads_total: uploaded,
    recgw_upload_failures_total: 0,
    recgw_spool_entries: 0,
    recgw_spool_used_bytes: 0,
    recgw_spool_oldest_sealed_age_seconds: 0,
    recgw_audit_failures_total: 0,
    recgw_audit_unshipped_records: 0,
  };
  const scraped: Record<string, number | undefined> = {};
  for (const name of Object.keys(expected)) scraped[name] = await prometheus.query(name);
  assert.deepEqual(scraped, expected);
  assert.ok(engine.stats.rejected400 >= 1, 'the OPTIONS without its headers was answered 400');
  assert.ok(((await prometheus.query('recgw_event_loop_active_seconds_total')) ?? 0) > 0);
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(await prometheus.query(`recgw_build_info{version="${version}"}`), 1);

  // The scrapes read; none is an action, so the audit log holds nothing of them.
  const audit = await readFile(gw.auditFile, 'utf8').catch(() => '');
  assert.doesNotMatch(audit, /prometheus/);
  // The same token may read health, and nothing that acts on a call.
  assert.equal((await controlApi(gw, 'GET', '/health', { token: MONITOR_TOKEN })).status, 200);
  assert.equal((await controlApi(gw, 'GET', '/calls', { token: MONITOR_TOKEN })).status, 403);
});
