/**
 * `recgw export`: decrypt stored recordings with the private key (which
 * never needs to be on the gateway) into WAV or MP3.
 */
import { mkdirSync } from 'node:fs';
import { exportCall, exportLeg, readRecordingBytes } from '../access/export.js';
import { defaultReleaser, recordRelease } from '../access/releases.js';
import { loadCommandConfig } from '../config/load.js';
import { loadDecryptionKey } from '../crypto/keys.js';
import { silentLogger } from '../ops/log.js';
import { keySafe } from '../recording/layout.js';
import { openStore } from '../recording/pipeline.js';
import { dayArg, UsageError } from './args.js';

export const EXPORT_USAGE = `usage:
  recgw export <object-key | file> --private-key FILE --out DIR [--config FILE] [--allow-incomplete] [--by NAME] [--reason TEXT]
  recgw export --call CALL-ID --private-key FILE --out DIR [--config FILE] [--format wav|mp3] [--allow-incomplete] [--by NAME] [--reason TEXT]
               [--line NAME [--day YYYY-MM-DD]]

The store is the one in the config (embedded defaults without --config). Every chunk is
verified: a tampered or truncated recording is refused, naming the chunk; --allow-incomplete
accepts one cut short by a crash. Every export is a release, recorded in the store first
(who: --by, or your user name; why: --reason); one that cannot be recorded is not made.
--line, and --day (UTC, when the call started), say where the call is, so only that part
of the store is searched: without them a large store takes minutes (recgw find prints both).
`;

export interface ExportArgs {
  readonly target?: string;
  readonly callId?: string;
  readonly privateKey: string;
  readonly out: string;
  readonly configFile?: string;
  readonly allowIncomplete: boolean;
  readonly format: 'wav' | 'mp3';
  readonly by?: string;
  readonly reason?: string;
  /** Where the call is: its line's folder, or that line's day. */
  readonly line?: string;
  readonly day?: string;
}

/** The part of the store `--line` and `--day` name; the whole store without them. */
export function callWithin(line: string | undefined, day: string | undefined): string {
  if (day !== undefined && line === undefined) throw new UsageError('--day goes with --line');
  if (line === undefined) return '';
  if (day === undefined) return `${keySafe(line)}/`;
  return `${keySafe(line)}/${dayArg('--day', day).replace(/-/g, '/')}/`;
}

export async function runExport(a: ExportArgs): Promise<number> {
  const within = callWithin(a.line, a.day);
  if (within !== '' && a.callId === undefined) throw new UsageError('--line and --day go with --call');
  const config = loadCommandConfig(a.configFile);
  const store = await openStore(config.storage, silentLogger());
  const kdk = loadDecryptionKey(a.privateKey);
  const record = await recordRelease(store, { by: a.by ?? defaultReleaser(), reason: a.reason ?? 'not given', tool: 'export', released: [a.callId ?? a.target ?? ''] });
  process.stdout.write(`release recorded: ${record}\n`);
  mkdirSync(a.out, { recursive: true, mode: 0o700 });
  if (a.callId !== undefined) {
    const r = await exportCall(store, a.callId, kdk, a.out, { allowIncomplete: a.allowIncomplete, format: a.format, within });
    if (r.manifest) {
      const m = r.manifest;
      process.stdout.write(`call ${m.callId}: line ${m.line}, ${m.callerNumber} -> ${m.calledNumber}, operator ${m.operator ?? 'unknown'}, ${m.startedAt} to ${m.endedAt ?? '?'}, ${m.complete ? 'complete' : 'INCOMPLETE'}\n`);
    }
    for (const l of r.legs) process.stdout.write(`  ${l.leg} segment ${l.segment}: ${l.seconds.toFixed(2)} s, ${l.chunks} chunks verified${l.complete ? '' : ', INCOMPLETE'} -> ${l.file}\n`);
    if (r.mix) process.stdout.write(`  stereo (caller left, agent right) -> ${r.mix}\n`);
    for (const n of r.notes) process.stdout.write(`  note: ${n}\n`);
    return 0;
  }
  if (a.target === undefined) throw new Error('name an object (or file) to export, or --call CALL-ID');
  const l = await exportLeg(await readRecordingBytes(a.target, store), kdk, a.out, { allowIncomplete: a.allowIncomplete });
  process.stdout.write(`${l.leg} segment ${l.segment}: ${l.seconds.toFixed(2)} s, ${l.chunks} chunks verified${l.complete ? '' : ', INCOMPLETE'} -> ${l.file}\n`);
  return 0;
}
