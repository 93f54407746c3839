/**
 * `recgw find`: every call of one number, for a subject access request, and
 * with --out a copy of each, released on the record (see access/releases.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { absentSegmentNote, exportCall } from '../access/export.js';
import { findCalls, isWhole, type FindQuery } from '../access/find.js';
import { defaultReleaser, recordRelease } from '../access/releases.js';
import { loadCommandConfig } from '../config/load.js';
import { loadDecryptionKey } from '../crypto/keys.js';
import { silentLogger } from '../ops/log.js';
import { openStore } from '../recording/pipeline.js';
import { dayArg, parseCommandArgs, UsageError } from './args.js';

export const FIND_USAGE = `usage: recgw find (--number NUMBER | --line NAME) --private-key FILE [--config FILE]
                  [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--line NAME]
                  [--out DIR --reason TEXT [--by NAME] [--format wav|mp3]]

  list every call to or from NUMBER (compared by digits, and by the last nine
  where both have as many, so 07700 900123 and +44 7700 900123 are one), or
  without --number every call of the line, by opening each call's encrypted
  manifest with the private key; each incomplete recording (one the manifest
  says is incomplete, or with a segment the store does not hold) is marked,
  and counted at the end. With --out, write a copy of each call there, one
  folder per call, after recording the release (who, why, which calls) in the
  store; --reason is required then. --from and --to (UTC days) narrow what is
  read: a month's search reads that month's folders only.
`;

export async function runFind(args: readonly string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const a = parseCommandArgs(args, { values: ['--number', '--private-key', '--config', '--from', '--to', '--line', '--out', '--reason', '--by', '--format'], flags: ['--help'] });
  if (a.flags.has('--help')) {
    out.write(FIND_USAGE);
    return 0;
  }
  const number = a.values.get('--number');
  const privateKey = a.values.get('--private-key');
  const line = a.values.get('--line');
  // Without a number the search lists a line: never the whole store at once, by a slip of the keyboard.
  if ((number === undefined && line === undefined) || privateKey === undefined) throw new UsageError(`find needs --number or --line, and --private-key\n\n${FIND_USAGE}`);
  const query: { -readonly [K in keyof FindQuery]: FindQuery[K] } = number !== undefined ? { number } : {};
  for (const [option, field] of [['--from', 'from'], ['--to', 'to']] as const) {
    const v = a.values.get(option);
    if (v === undefined) continue;
    query[field] = dayArg(option, v);
  }
  if (line !== undefined) query.line = line;
  const dir = a.values.get('--out');
  const reason = a.values.get('--reason');
  if (dir !== undefined && (reason === undefined || reason.trim() === '')) throw new UsageError("--out releases copies: give the --reason (the request's reference)");
  const format = a.values.get('--format') ?? 'wav';
  if (format !== 'wav' && format !== 'mp3') throw new UsageError('--format is wav or mp3');

  const configFile = a.values.get('--config');
  const config = loadCommandConfig(configFile);
  const store = await openStore(config.storage, silentLogger());
  const kdk = loadDecryptionKey(privateKey);
  const r = await findCalls(store, kdk, query);
  for (const f of r.found) {
    const m = f.manifest;
    const matched = f.matched.length > 0 ? `  (${f.matched.join(' and ')})` : '';
    out.write(`${m.startedAt}  ${f.folder}  line ${m.line}  ${m.direction}  ${m.callerNumber} -> ${m.calledNumber}  operator ${m.operator ?? 'unknown'}${matched}${isWhole(f) ? '' : '  INCOMPLETE'}\n`);
    for (const s of f.absent) out.write(`  ${absentSegmentNote(s)}\n`);
  }
  const incomplete = r.found.filter((f) => !isWhole(f)).length;
  const of = number !== undefined ? `of ${number}` : `of line ${line ?? ''}`;
  out.write(`${r.found.length} ${r.found.length === 1 ? 'call' : 'calls'} ${of} in ${r.manifestsRead} read${incomplete > 0 ? `, ${incomplete} incomplete` : ''}\n`);
  for (const u of r.unreadable) out.write(`not read: ${u.key}: ${u.error}\n`);
  if (dir === undefined || r.found.length === 0) return r.unreadable.length > 0 ? 1 : 0;

  const released = r.found.map((f) => f.folder);
  const record = await recordRelease(store, {
    by: a.values.get('--by') ?? defaultReleaser(),
    reason: reason ?? '',
    tool: 'find',
    released,
    // The number searched for is personal data, kept in the store only inside the encrypted manifests:
    // the record says a number was searched, and --reason links it to the request's case file.
    query: { search: number !== undefined ? 'number' : 'line', ...(query.from !== undefined ? { from: query.from } : {}), ...(query.to !== undefined ? { to: query.to } : {}), ...(line !== undefined ? { line } : {}) },
  });
  out.write(`release recorded: ${record}\n`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const { folder, prefix } of r.found) {
    // The search knows where each call is: only its folder is listed, not the whole store again.
    const e = await exportCall(store, folder, kdk, join(dir, folder), { allowIncomplete: true, format, within: prefix });
    out.write(`${folder}: ${e.legs.length} legs${e.mix ? ', stereo mix' : ''}${e.notes.length > 0 ? `; ${e.notes.join('; ')}` : ''}\n`);
  }
  return r.unreadable.length > 0 ? 1 : 0;
}
