/**
 * GET /metrics: what /health reports, in the Prometheus text format (0.0.4),
 * so a monitoring system can graph it and page on it: a spool filling, a
 * store refusing uploads, audio that could not be written, an audit log that
 * fails, RTP refused for its source, a relay thread running out of time.
 * Built from the health view, so the two never disagree.
 */
import { performance } from 'node:perf_hooks';
import type { HealthView } from '../control/types.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The process's own figures at the moment of a scrape. */
export interface ProcessFigures {
  readonly cpuSeconds: number;
  readonly residentBytes: number;
  readonly heapUsedBytes: number;
  readonly startTimeSeconds: number;
  /** Time the event loop spent running code, and waiting, since the process started. */
  readonly loopActiveSeconds: number;
  readonly loopIdleSeconds: number;
  readonly version: string;
  readonly node: string;
}

/**
 * The event loop's busy and idle time come from the loop's own accounting
 * (event loop utilisation), not from a sampling timer: a timer would wake the
 * relaying thread a hundred times a second to measure how busy it is.
 */
export function processFigures(version: string): ProcessFigures {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const loop = performance.eventLoopUtilization();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    startTimeSeconds: Math.round(performance.timeOrigin) / 1000,
    loopActiveSeconds: loop.active / 1000,
    loopIdleSeconds: loop.idle / 1000,
    version,
    node: process.version,
  };
}

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels, value: number];

/** One metric family at a time, HELP and TYPE before its samples, as the format asks. */
class Exposition {
  private readonly lines: string[] = [];

  counter(name: string, help: string, value: number | readonly Sample[]): void {
    this.family(`recgw_${name}_total`, 'counter', help, value);
  }

  gauge(name: string, help: string, value: number | boolean | readonly Sample[]): void {
    this.family(`recgw_${name}`, 'gauge', help, typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }

  private family(name: string, type: 'counter' | 'gauge', help: string, value: number | readonly Sample[]): void {
    this.lines.push(`# HELP ${name} ${escaped(help)}`, `# TYPE ${name} ${type}`);
    const samples: readonly Sample[] = typeof value === 'number' ? [[{}, value]] : value;
    for (const [labels, v] of samples) this.lines.push(`${name}${labelText(labels)} ${numberText(v)}`);
  }
}

/** Backslashes and line breaks escaped, as HELP text and label values both need. */
function escaped(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  // A label value is quoted, so its quotes are escaped too (after the backslashes, which escaped() doubled).
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escaped(v).replace(/"/g, '\\"')}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const seconds = (iso: string | undefined): number => (iso === undefined ? 0 : Date.parse(iso) / 1000);

export function metricsText(view: HealthView, proc: ProcessFigures): string {
  const m = new Exposition();
  m.gauge('build_info', 'The gateway\'s version and the Node.js running it; always 1.', [[{ version: proc.version, node: proc.node }, 1]]);
  m.gauge('degraded', '1 while recordings are at risk (the problems are in GET /health, in words).', view.status === 'degraded');
  m.gauge('problems', 'Problems GET /health reports now.', view.problems.length);

  m.gauge('calls_active', 'Calls up now.', view.calls.active);
  m.counter('calls_started', 'Calls taken since start.', view.calls.started);
  m.counter('calls_ended', 'Calls ended since start.', view.calls.ended);
  m.counter('invites_refused', 'INVITEs refused: from no trunk address (403), to no line (404), or while draining (503).', [
    [{ reason: 'not-trunk' }, view.refused.notTrunk],
    [{ reason: 'no-line' }, view.refused.noLine],
    [{ reason: 'draining' }, view.refused.draining],
  ]);
  m.gauge('draining', '1 while the gateway drains for a restart: new calls refused, the calls up carry on.', view.draining !== undefined);
  m.counter('recordings_incomplete', 'Recorded calls that ended with something missing: a segment not closed, or the final manifest not written.', view.calls.recordingsIncomplete);
  if (view.lines) {
    const samples = Object.entries(view.lines).flatMap(([line, c]): Sample[] => [
      [{ line, recording: 'complete' }, c.complete],
      [{ line, recording: 'incomplete' }, c.incomplete],
      [{ line, recording: 'none' }, c.unrecorded],
    ]);
    if (samples.length > 0) m.counter('line_calls', 'Ended calls by line, and what became of their recording.', samples);
  }
  m.counter('recording_unavailable', 'Calls to recorded lines refused or carried unrecorded because recordings could not be kept.', view.refused.recordingUnavailable);

  if (view.sip) {
    const s = view.sip;
    m.counter('sip_messages_received', 'SIP messages received and parsed.', s.received);
    m.counter('sip_messages_malformed', 'SIP messages that could not be parsed or lacked mandatory headers.', s.malformed);
    m.counter('sip_malformed_rejected', 'Malformed SIP requests answered 400.', s.rejected400);
    m.counter('sip_messages_dropped', 'SIP messages dropped without an answer: malformed responses, or matching nothing.', s.dropped);
    m.gauge('sip_dialogs', 'SIP dialogs open now.', s.dialogs);
    m.gauge('sip_transactions', 'SIP transactions open now.', s.transactions);
  }

  if (view.media) {
    const a = view.media;
    m.counter('rtp_packets_received', 'RTP datagrams received on the legs.', a.rtpReceived);
    m.counter('rtp_packets_accepted', 'RTP datagrams accepted: from the latched peer, well formed.', a.rtpAccepted);
    m.counter('rtp_packets_relayed', 'RTP datagrams relayed to the other leg.', a.rtpRelayed);
    m.counter('media_dropped_source', 'RTP and RTCP datagrams dropped for coming from an address other than the latched peer.', a.droppedSource);
    m.counter('media_malformed', 'RTP and RTCP datagrams dropped as malformed.', a.malformed);
    m.counter('capture_late_packets', 'Audio packets that arrived too late to be placed in their recording.', a.captureLate);
    m.counter('capture_write_errors', 'Writes of captured audio that failed: audio lost.', a.captureWriteErrors);
    m.counter('capture_redacted_seconds', 'Audio written as silence for a pause, a stop or a tone window.', a.redactedSamples / 8000);
  }

  if (view.spool) {
    const s = view.spool;
    m.gauge('spool_used_bytes', 'Bytes the spool holds: recordings not yet confirmed by the store.', s.usedBytes);
    m.gauge('spool_max_bytes', 'The spool\'s limit (spool.maxBytes).', s.maxBytes);
    m.gauge('spool_entries', 'Segments and manifests in the spool.', s.entries);
    m.gauge('spool_full', '1 while the spool is at its limit: recorded lines apply onRecordingFailure.', s.full);
    m.gauge('spool_disk_low', '1 while the spool\'s disk has less free than spool.minFreeBytes.', s.low);
    if (s.diskFreeBytes !== undefined) m.gauge('spool_disk_free_bytes', 'Free space on the spool\'s disk at the last check.', s.diskFreeBytes);
    m.gauge('spool_write_fault', '1 while the spool cannot write.', s.writeFault !== undefined);
    m.counter('spool_failed_entries', 'Segments whose spool entry failed: each lost its audio from that moment.', s.failedEntries);
    m.gauge('spool_oldest_sealed_age_seconds', 'How long the oldest finished segment or manifest has waited for the store; 0 when none waits.', s.oldestSealedAgeSeconds ?? 0);
  }

  if (view.uploads) {
    const u = view.uploads;
    m.counter('uploads', 'Spool entries the store confirmed.', u.uploaded);
    m.counter('upload_bytes', 'Bytes the store confirmed.', u.bytesUploaded);
    m.counter('upload_failures', 'Failed upload attempts; each is retried.', u.failures);
    m.gauge('upload_failures_since_success', 'Failed attempts since the store last took an upload: above 0, the store is failing now.', u.failuresSinceSuccess);
    m.gauge('uploads_queued', 'Sealed entries waiting for an upload slot.', u.queued);
    m.gauge('uploads_retrying', 'Entries waiting out a backoff.', u.retrying);
    m.gauge('uploads_in_progress', 'Entries being uploaded now, live tails included.', u.uploading);
    m.gauge('uploads_streaming', 'Live entries streamed to the store as they grow.', u.streaming);
  }

  if (view.retention) {
    const r = view.retention;
    m.gauge('retention_sweep_running', '1 while a retention sweep runs.', r.running);
    if (r.nextRun !== undefined) m.gauge('retention_next_sweep_timestamp_seconds', 'When the next scheduled sweep starts.', seconds(r.nextRun));
    const last = r.last;
    if (last) {
      m.gauge('retention_last_sweep_timestamp_seconds', 'When the last sweep ended.', seconds(last.finishedAt));
      m.gauge('retention_last_sweep_duration_seconds', 'How long the last sweep took.', seconds(last.finishedAt) - seconds(last.startedAt));
      m.gauge('retention_last_sweep_calls', 'What the last sweep did with the expired calls it found.', [
        [{ outcome: 'deleted' }, last.deleted],
        [{ outcome: 'held' }, last.held],
        [{ outcome: 'unreadable' }, last.unreadable],
        [{ outcome: 'failed' }, last.failed],
      ]);
      m.gauge('retention_last_sweep_stopped_early', '1 when the last sweep stopped before the end.', last.error !== undefined);
    }
  }

  if (view.control) {
    const c = view.control;
    m.counter('control_requests', 'Control API requests.', c.requests);
    m.counter('control_unauthorized', 'Control API requests refused for a missing, malformed or wrong token.', c.unauthorized);
    m.counter('audit_failures', 'Audit records of control actions that could not be written.', c.auditFailures);
  }
  if (view.audit) {
    m.gauge('audit_unshipped_records', 'Audit records not yet copied into the object store: only on this disk.', view.audit.lastSeq - view.audit.shippedSeq);
  }

  m.counter('process_cpu_seconds', 'CPU time of the process, user and system.', proc.cpuSeconds);
  m.gauge('process_resident_memory_bytes', 'Resident memory of the process.', proc.residentBytes);
  m.gauge('process_heap_used_bytes', 'JavaScript heap in use.', proc.heapUsedBytes);
  m.gauge('process_start_time_seconds', 'When the process started, in seconds since the epoch.', proc.startTimeSeconds);
  m.counter('event_loop_active_seconds', 'Time the main thread (which relays every packet) spent running code; its rate near 1 means the relay has no time to spare.', proc.loopActiveSeconds);
  m.counter('event_loop_idle_seconds', 'Time the main thread spent waiting for work.', proc.loopIdleSeconds);
  return m.text();
}
