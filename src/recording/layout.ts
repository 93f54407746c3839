/**
 * Where recordings live in a store, and how they are tagged. One object per
 * leg per segment and one manifest per call, under the line and the UTC date
 * the call's capture started (a segment that starts after midnight too), so a
 * call's objects share one folder and retention sweeps and searches by line
 * and day are prefix listings:
 *
 *   <line>/<yyyy>/<mm>/<dd>/<call-id>/<leg>-<segment>.rec
 *   <line>/<yyyy>/<mm>/<dd>/<call-id>/manifest.rec          (when the call ended)
 *   <line>/<yyyy>/<mm>/<dd>/<call-id>/manifest-start.rec    (when capture started)
 *   holds/<call-id>.json                                     (a hold on the call: retention/holds.ts)
 *   releases/<time>-<id>.json                                (a copy released: access/releases.ts)
 *   audit/<host>/<seq>-<seq>-<hash>.jsonl                    (the audit log's copy: access/audit-shipper.ts)
 *
 * so no line's key may be `holds`, `releases` or `audit`.
 */
import type { SegmentInfo } from './writer.js';

export const HOLD_PREFIX = 'holds/';
export const RELEASE_PREFIX = 'releases/';
export const AUDIT_PREFIX = 'audit/';
/** Sequence numbers in an audit copy's key are padded so that key order is record order. */
const AUDIT_SEQ_DIGITS = 12;
const AUDIT_COPY_KEY = /^audit\/([^/]+)\/(\d+)-(\d+)-([0-9a-f]+)\.jsonl$/;

export interface AuditCopyKey {
  readonly host: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The start of the last record's hash. */
  readonly hash: string;
}

/** The key of one copy of the audit log's records `firstSeq` to `lastSeq` (access/audit-shipper.ts). */
export function auditCopyKey(host: string, firstSeq: number, lastSeq: number, lastHash: string): string {
  const seq = (n: number): string => String(n).padStart(AUDIT_SEQ_DIGITS, '0');
  return `${auditHostPrefix(host)}${seq(firstSeq)}-${seq(lastSeq)}-${lastHash.slice(0, 12)}.jsonl`;
}

/** The folder of one host's audit copies. */
export function auditHostPrefix(host: string): string {
  return `${AUDIT_PREFIX}${keySafe(host)}/`;
}

export function parseAuditCopyKey(key: string): AuditCopyKey | undefined {
  const m = AUDIT_COPY_KEY.exec(key);
  if (!m) return undefined;
  const [, host = '', first = '', last = '', hash = ''] = m;
  return { host, firstSeq: Number(first), lastSeq: Number(last), hash };
}

/** Folders beside the lines' in the store, which no line's key may be. */
export const RESERVED_FOLDERS: readonly string[] = [HOLD_PREFIX.slice(0, -1), RELEASE_PREFIX.slice(0, -1), AUDIT_PREFIX.slice(0, -1)];

/** Line names are operator-chosen text: keep keys to a safe, portable alphabet. */
export function keySafe(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'line';
}

export function callPrefix(line: string, callId: string, startedAt: Date): string {
  const iso = startedAt.toISOString();
  return `${keySafe(line)}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${keySafe(callId)}/`;
}

export function objectKey(info: SegmentInfo): string {
  return `${callPrefix(info.line, info.callId, info.callStartedAt)}${info.leg}-${info.segment}.rec`;
}

export function manifestKey(line: string, callId: string, callStartedAt: Date, stage: 'start' | 'final'): string {
  return `${callPrefix(line, callId, callStartedAt)}${stage === 'final' ? 'manifest.rec' : 'manifest-start.rec'}`;
}

/** A recording's key taken apart: the inverse of `objectKey` and `manifestKey`. */
export interface RecordingKey {
  readonly line: string;
  /** The UTC day the call started, `yyyy-mm-dd`. */
  readonly day: string;
  /** The call's folder: its id, key-safe. */
  readonly folder: string;
  /** `<line>/<yyyy>/<mm>/<dd>/<call>/`: every object of the call starts with it. */
  readonly prefix: string;
  /** The object's own name: `caller-1.rec`, `manifest.rec`, `manifest-start.rec`. */
  readonly name: string;
}

const RECORDING_KEY = /^(([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/([^/]+)\/)([^/]+)$/;

/** Undefined for a key outside the recordings' layout (holds, releases, strays). */
export function parseRecordingKey(key: string): RecordingKey | undefined {
  const m = RECORDING_KEY.exec(key);
  if (!m) return undefined;
  const [, prefix = '', line = '', yyyy = '', mm = '', dd = '', folder = '', name = ''] = m;
  return { line, day: `${yyyy}-${mm}-${dd}`, folder, prefix, name };
}

/** S3 allows letters, digits, spaces and + - = . _ : / @ in tag values. */
function tagValue(s: string): string {
  return s.replace(/[^A-Za-z0-9 +\-=._:/@]/g, '_').slice(0, 256);
}

/** What a recording object's tags are made of: a segment, or a call's manifest (leg 'manifest'). */
export interface TagSource {
  readonly line: string;
  readonly operator?: string;
  readonly startedAt: Date;
  readonly leg: string;
  readonly callId: string;
  readonly direction: string;
}

/** The seven tags of every recording object (DESIGN: S3 allows ten; keep to these). */
export function recordingTags(source: TagSource, retentionDays: number): Record<string, string> {
  return {
    line: tagValue(source.line),
    operator: tagValue(source.operator ?? 'unknown'),
    started: source.startedAt.toISOString(),
    leg: source.leg,
    'call-id': tagValue(source.callId),
    direction: source.direction,
    retention: String(retentionDays),
  };
}
