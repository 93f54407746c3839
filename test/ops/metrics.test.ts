import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HealthView } from '../../src/control/types.js';
import { metricsText, processFigures, type ProcessFigures } from '../../src/ops/metrics.js';

/** Every optional section present, each figure distinct, so a figure in the wrong family shows. */
const view: HealthView = {
  status: 'degraded',
  problems: ['spool full', 'object store refusing uploads'],
  calls: { active: 3, started: 41, ended: 38, recordingsIncomplete: 2 },
  lines: { helpline: { complete: 30, incomplete: 2, unrecorded: 5 }, 'sales "uk"': { complete: 1, incomplete: 0, unrecorded: 0 } },
  refused: { notTrunk: 7, noLine: 2, recordingUnavailable: 1, draining: 4 },
  draining: { since: '2026-12-08T02:00:00.000Z', deadline: '2026-12-08T02:10:00.000Z' },
  sip: { received: 900, malformed: 5, rejected400: 4, dropped: 6, dialogs: 6, transactions: 2 },
  media: { rtpReceived: 120_000, rtpAccepted: 119_990, rtpRelayed: 119_980, droppedSource: 11, malformed: 12, captureLate: 13, captureWriteErrors: 0, redactedSamples: 24_000 },
  spool: { usedBytes: 4096, maxBytes: 65_536, entries: 9, full: true, diskFreeBytes: 1_000_000, low: false, failedEntries: 0, oldestSealedAgeSeconds: 17 },
  uploads: { uploaded: 70, failures: 8, failuresSinceSuccess: 3, retrying: 2, queued: 4, waitingLive: 1, uploading: 5, streaming: 3, bytesUploaded: 123_456 },
  retention: {
    sweep: '30 3 * * *',
    running: false,
    nextRun: '2026-12-09T03:30:00.000Z',
    last: { startedAt: '2026-12-08T03:30:00.000Z', finishedAt: '2026-12-08T03:30:02.500Z', examined: 10, deleted: 6, objectsDeleted: 24, held: 2, unreadable: 1, failed: 1 },
  },
  control: { requests: 15, unauthorized: 14, auditFailures: 0 },
  audit: { lastSeq: 40, shippedSeq: 37 },
};

const proc: ProcessFigures = {
  cpuSeconds: 12.5,
  residentBytes: 150e6,
  heapUsedBytes: 40e6,
  startTimeSeconds: 1_796_000_000.25,
  loopActiveSeconds: 3.25,
  loopIdleSeconds: 96.75,
  version: '0.1.0',
  node: 'v20.20.2',
};

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/;

/** The text as a scraper reads it: each family's HELP and TYPE, then its samples, names unique. */
function parse(text: string): Map<string, { type: string; samples: Map<string, number> }> {
  assert.ok(text.endsWith('\n'), 'the last line ends with a newline');
  const families = new Map<string, { type: string; samples: Map<string, number> }>();
  let current: string | undefined;
  let helped: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP (\S+) .+$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (help?.[1] !== undefined) {
      assert.ok(!families.has(help[1]), `${help[1]} appears once`);
      helped = help[1];
      continue;
    }
    if (type?.[1] !== undefined && type[2] !== undefined) {
      assert.equal(type[1], helped, 'TYPE follows its HELP');
      current = type[1];
      families.set(current, { type: type[2], samples: new Map() });
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const [, name = '', labels = '', value = ''] = m;
    assert.equal(name, current, `${name} follows its own TYPE`);
    const family = families.get(name);
    assert.ok(family);
    if (family.type === 'counter') assert.match(name, /_total$/);
    family.samples.set(labels, Number(value));
  }
  return families;
}

const value = (f: ReturnType<typeof parse>, name: string, labels = ''): number | undefined => f.get(name)?.samples.get(labels);

test('metrics: every figure of the health view, under its own name, in the text format a scraper reads', () => {
  const f = parse(metricsText(view, proc));
  assert.equal(value(f, 'recgw_degraded'), 1);
  assert.equal(value(f, 'recgw_problems'), 2);
  assert.equal(value(f, 'recgw_build_info', '{version="0.1.0",node="v20.20.2"}'), 1);
  assert.equal(value(f, 'recgw_calls_active'), 3);
  assert.equal(value(f, 'recgw_calls_started_total'), 41);
  assert.equal(value(f, 'recgw_calls_ended_total'), 38);
  assert.equal(value(f, 'recgw_invites_refused_total', '{reason="not-trunk"}'), 7);
  assert.equal(value(f, 'recgw_invites_refused_total', '{reason="no-line"}'), 2);
  assert.equal(value(f, 'recgw_invites_refused_total', '{reason="draining"}'), 4);
  assert.equal(value(f, 'recgw_draining'), 1);
  assert.equal(value(f, 'recgw_recording_unavailable_total'), 1);
  assert.equal(value(f, 'recgw_recordings_incomplete_total'), 2);
  assert.equal(value(f, 'recgw_line_calls_total', '{line="helpline",recording="complete"}'), 30);
  assert.equal(value(f, 'recgw_line_calls_total', '{line="helpline",recording="incomplete"}'), 2);
  assert.equal(value(f, 'recgw_line_calls_total', '{line="helpline",recording="none"}'), 5);
  assert.equal(value(f, 'recgw_line_calls_total', '{line="sales \\"uk\\"",recording="complete"}'), 1, 'a line\'s name is escaped');
  assert.equal(value(f, 'recgw_sip_messages_malformed_total'), 5);
  assert.equal(value(f, 'recgw_sip_malformed_rejected_total'), 4);
  assert.equal(value(f, 'recgw_sip_messages_dropped_total'), 6);
  assert.equal(value(f, 'recgw_rtp_packets_relayed_total'), 119_980);
  assert.equal(value(f, 'recgw_media_dropped_source_total'), 11);
  assert.equal(value(f, 'recgw_media_malformed_total'), 12);
  assert.equal(value(f, 'recgw_capture_late_packets_total'), 13);
  assert.equal(value(f, 'recgw_capture_write_errors_total'), 0);
  assert.equal(value(f, 'recgw_capture_redacted_seconds_total'), 3, '24000 samples at 8 kHz');
  assert.equal(value(f, 'recgw_spool_used_bytes'), 4096);
  assert.equal(value(f, 'recgw_spool_full'), 1);
  assert.equal(value(f, 'recgw_spool_disk_low'), 0);
  assert.equal(value(f, 'recgw_spool_write_fault'), 0);
  assert.equal(value(f, 'recgw_spool_oldest_sealed_age_seconds'), 17);
  assert.equal(value(f, 'recgw_upload_failures_since_success'), 3);
  assert.equal(value(f, 'recgw_upload_bytes_total'), 123_456);
  assert.equal(value(f, 'recgw_retention_next_sweep_timestamp_seconds'), Date.parse('2026-12-09T03:30:00.000Z') / 1000);
  assert.equal(value(f, 'recgw_retention_last_sweep_duration_seconds'), 2.5);
  assert.equal(value(f, 'recgw_retention_last_sweep_calls', '{outcome="held"}'), 2);
  assert.equal(value(f, 'recgw_retention_last_sweep_stopped_early'), 0);
  assert.equal(value(f, 'recgw_control_unauthorized_total'), 14);
  assert.equal(value(f, 'recgw_audit_failures_total'), 0);
  assert.equal(value(f, 'recgw_audit_unshipped_records'), 3);
  assert.equal(value(f, 'recgw_process_start_time_seconds'), 1_796_000_000.25);
  assert.equal(value(f, 'recgw_event_loop_active_seconds_total'), 3.25);

  // Recording into memory only, no store, no SIP engine: those families are left out, not printed as zeros.
  const bare = parse(metricsText({ status: 'ok', problems: [], calls: { active: 0, started: 0, ended: 0, recordingsIncomplete: 0 }, refused: { notTrunk: 0, noLine: 0, recordingUnavailable: 0, draining: 0 } }, proc));
  assert.equal(value(bare, 'recgw_degraded'), 0);
  assert.equal(value(bare, 'recgw_draining'), 0);
  for (const name of bare.keys()) assert.doesNotMatch(name, /spool|upload|retention|sip|rtp|capture/);
});

test('metrics: a label value is escaped, so a version string cannot break the text', () => {
  const f = parse(metricsText(view, { ...proc, version: 'a"b\\c\nd' }));
  assert.equal(value(f, 'recgw_build_info', '{version="a\\"b\\\\c\\nd",node="v20.20.2"}'), 1);
});

test('metrics: the process\'s own figures are read from the process', () => {
  const p = processFigures('9.9.9');
  assert.ok(p.cpuSeconds > 0 && p.residentBytes > 0 && p.heapUsedBytes > 0);
  assert.ok(Math.abs(p.startTimeSeconds * 1000 - performance.timeOrigin) < 1000);
  assert.ok(p.loopActiveSeconds >= 0 && p.loopIdleSeconds >= 0);
  assert.equal(p.node, process.version);
});

test('metrics: Prometheus\'s own checker finds nothing to say about the text', () => {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: metricsText(view, proc), encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool runs (the test command installs it)');
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
});

const ALERT_RULES = fileURLToPath(new URL('../../config/prometheus-alerts.yml', import.meta.url));

test('alert rules: every metric they read is one the gateway exports, so a renamed metric cannot leave a rule silent', () => {
  const exported = new Set(parse(metricsText(view, proc)).keys());
  const read = new Set(readFileSync(ALERT_RULES, 'utf8').match(/\brecgw_[a-z_]+/g));
  assert.ok(read.size >= 10, `${read.size} metrics read by the rules`);
  assert.deepEqual([...read].filter((name) => !exported.has(name)), []);
});

test('alert rules: promtool loads them, and each fires for the gateway in trouble, when its rule says, and not for the one beside it', () => {
  const check = spawnSync('promtool', ['check', 'rules', ALERT_RULES], { encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
  const unit = spawnSync('promtool', ['test', 'rules', fileURLToPath(new URL('alert-rules.yml', import.meta.url))], { encoding: 'utf8' });
  assert.equal(unit.status, 0, `promtool test rules: ${unit.stdout}${unit.stderr}`);
  assert.match(unit.stdout, /SUCCESS/);
});
