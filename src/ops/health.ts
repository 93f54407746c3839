/**
 * What GET /health reports: the call counters, and whether recordings are at
 * risk right now (a full spool, a store that refuses uploads) or kept past
 * their retention (a sweep that failed), put in words for whoever is paged.
 */
import type { HealthView } from '../control/types.js';
import type { AuditShippingView } from '../access/audit-shipper.js';
import type { DrainState, GatewayStats, LineCalls } from '../call/gateway.js';
import type { MediaTotals } from '../call/media-totals.js';
import type { EngineStats } from '../sip/engine.js';
import type { Spool } from '../storage/spool.js';
import type { RetentionSweeper } from '../retention/sweeper.js';
import type { Uploader } from '../storage/uploader.js';

export interface HealthSources {
  readonly gateway: {
    readonly stats: GatewayStats;
    readonly activeCalls: ReadonlyMap<string, unknown>;
    readonly media?: MediaTotals;
    readonly lineCalls?: ReadonlyMap<string, LineCalls>;
    readonly draining?: DrainState;
  };
  readonly engine?: { readonly stats: Readonly<EngineStats> };
  /** The control API's counters; absent before it listens. */
  readonly control?: { readonly stats: { readonly requests: number; readonly unauthorized: number; readonly auditFailures: number } };
  readonly spool?: Pick<Spool, 'usedBytes' | 'maxBytes' | 'full' | 'entries' | 'fault' | 'failedEntries' | 'low' | 'diskFreeBytes' | 'diskReserveBytes'>;
  readonly uploader?: Pick<Uploader, 'stats'>;
  readonly retention?: Pick<RetentionSweeper, 'view'>;
  /** The audit log (its last record) and its copying into the store. */
  readonly audit?: { readonly log: { readonly lastSeq: number }; readonly shipper: { readonly view: AuditShippingView } };
  /** The wall clock, ms since the epoch; tests set it. */
  readonly now?: number;
}

/**
 * A sealed entry is normally in the store within seconds. One that waits this
 * long while the store reports no error means uploads hang or cannot keep up,
 * which no failure count shows.
 */
export const UPLOAD_LAG_PROBLEM_S = 15 * 60;

export function healthOf({ gateway, engine, control, spool, uploader, retention, audit, now = Date.now() }: HealthSources): HealthView {
  const { stats } = gateway;
  const problems: string[] = [];
  const view: HealthView = {
    status: 'ok',
    problems,
    calls: { active: gateway.activeCalls.size, started: stats.callsStarted, ended: stats.callsEnded, recordingsIncomplete: stats.recordingsIncomplete },
    ...(gateway.lineCalls ? { lines: Object.fromEntries([...gateway.lineCalls].map(([line, c]) => [line, { ...c }])) } : {}),
    refused: { notTrunk: stats.rejectedNotTrunk, noLine: stats.rejectedNoLine, recordingUnavailable: stats.recordingUnavailable, draining: stats.refusedDraining },
    ...(gateway.draining ? { draining: gateway.draining } : {}),
    ...(engine ? { sip: { ...engine.stats } } : {}),
    ...(gateway.media ? { media: gateway.media } : {}),
  };
  if (control) {
    const { requests, unauthorized, auditFailures } = control.stats;
    view.control = { requests, unauthorized, auditFailures };
    // An action whose record is missing is an action an auditor cannot see.
    if (auditFailures > 0) problems.push(`audit log: ${auditFailures} ${auditFailures === 1 ? 'record' : 'records'} of control actions could not be written since the start; see the log's errors`);
  }
  let oldestSealedAge: number | undefined;
  if (spool) {
    const all = spool.entries();
    const entries = all.length;
    const { fault, failedEntries } = spool;
    for (const e of all) {
      if (e.sealedAt !== undefined) oldestSealedAge = Math.max(oldestSealedAge ?? 0, Math.max(0, Math.round((now - e.sealedAt) / 1000)));
    }
    view.spool = {
      usedBytes: spool.usedBytes,
      maxBytes: spool.maxBytes,
      entries,
      full: spool.full,
      ...(Number.isFinite(spool.diskFreeBytes) ? { diskFreeBytes: spool.diskFreeBytes } : {}),
      low: spool.low,
      ...(fault ? { writeFault: { code: fault.code, message: fault.message, since: fault.since.toISOString() } } : {}),
      failedEntries,
      ...(oldestSealedAge !== undefined ? { oldestSealedAgeSeconds: oldestSealedAge } : {}),
    };
    if (spool.full) {
      const held = `${entries} ${entries === 1 ? 'entry' : 'entries'}`;
      problems.push(`spool full (${sizeOf(spool.usedBytes)} of ${sizeOf(spool.maxBytes)}, ${held}): recorded lines apply onRecordingFailure`);
    }
    if (spool.low) {
      problems.push(`spool disk low (${sizeOf(spool.diskFreeBytes)} free, under the ${sizeOf(spool.diskReserveBytes)} kept for calls already recording): recorded lines apply onRecordingFailure`);
    }
    if (fault) {
      const lost = failedEntries > 0 ? `; ${failedEntries} ${failedEntries === 1 ? 'segment' : 'segments'} lost audio from the failure on` : '';
      problems.push(`spool cannot write since ${fault.since.toISOString()} (${fault.code}: ${fault.message}): recorded lines apply onRecordingFailure${lost}`);
    }
  }
  if (uploader) {
    const u = uploader.stats;
    view.uploads = u;
    if (u.failuresSinceSuccess > 0) {
      const last = u.lastFailure ? ` (the last at ${u.lastFailure.at}: ${u.lastFailure.code}: ${u.lastFailure.message})` : '';
      problems.push(`object store refusing uploads: ${u.failuresSinceSuccess} failed attempts since the last success${last}; the spool keeps the recordings and retries`);
    } else if (oldestSealedAge !== undefined && oldestSealedAge >= UPLOAD_LAG_PROBLEM_S) {
      problems.push(
        `uploads behind: a sealed recording has waited ${Math.floor(oldestSealedAge / 60)} min for the store, which reports no error (${u.queued} queued, ${u.uploading} uploading): uploads hang or cannot keep up; the spool keeps the recordings`,
      );
    }
  }
  if (retention) {
    const r = retention.view;
    view.retention = r;
    const last = r.last;
    if (last?.error !== undefined) problems.push(`retention sweep of ${last.startedAt} stopped early (${last.error}): expired recordings may be kept past their retention`);
    if (last !== undefined && last.failed > 0) {
      problems.push(`retention sweep of ${last.startedAt}: the store would not delete ${last.failed} expired ${last.failed === 1 ? 'call' : 'calls'}; kept, and tried again at the next sweep`);
    }
    if (last !== undefined && last.unreadable > 0) {
      problems.push(`retention sweep of ${last.startedAt}: ${last.unreadable} ${last.unreadable === 1 ? 'call has' : 'calls have'} an object without readable retention tags; kept, see the log for the keys`);
    }
  }
  if (audit) {
    const a = audit.shipper.view;
    view.audit = { lastSeq: audit.log.lastSeq, ...a };
    const failingFor = a.failingSince !== undefined ? (now - Date.parse(a.failingSince)) / 1000 : 0;
    // A store outage shows as its own problem first; the audit log's copy is kept until it passes.
    if (failingFor >= UPLOAD_LAG_PROBLEM_S) {
      const only = audit.log.lastSeq - a.shippedSeq;
      problems.push(`audit log not copied to the store since ${a.failingSince ?? ''} (${a.lastError ?? 'unknown error'}): ${only} ${only === 1 ? 'record is' : 'records are'} only on this disk`);
    }
  }
  if (problems.length > 0) view.status = 'degraded';
  return view;
}

export function sizeOf(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] ?? ''}`;
}
