/**
 * `recgw status`: the running gateway's /health in words, for the on-call
 * engineer at a terminal and for a monitoring check that only reads exit
 * codes: 0 when all is well, 1 when recordings are at risk or the gateway
 * does not answer.
 */
import { loadCommandConfig } from '../config/load.js';
import type { HealthView } from '../control/types.js';
import { messageOf } from '../errors.js';
import { sizeOf } from '../ops/health.js';
import { parseCommandArgs } from './args.js';
import { controlTarget } from './control-client.js';

export const STATUS_USAGE = `usage: recgw status [--config FILE] [--token-file FILE] [--json]

  the running gateway's health: what puts recordings at risk now, in words,
  then its calls, lines, spool, uploads and sweeps. Exits 0 when all is well,
  1 when recordings are at risk or the gateway does not answer. --json prints
  GET /health as it is. The token is the config's main one, or a client's
  from --token-file (any role may read it).
`;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The health view as lines of text, the problems first. */
export function statusText(h: HealthView): string {
  const lines: string[] = [];
  const state = h.status === 'ok' ? 'ok' : 'DEGRADED: recordings at risk';
  lines.push(`recgw: ${state}${h.draining ? ` (draining since ${h.draining.since}; calls up are ended at ${h.draining.deadline})` : ''}`);
  for (const p of h.problems) lines.push(`  - ${p}`);
  const c = h.calls;
  lines.push(`calls: ${c.active} up, ${c.started} started, ${c.ended} ended${c.recordingsIncomplete > 0 ? `, ${plural(c.recordingsIncomplete, 'recording')} incomplete` : ''}`);
  const r = h.refused;
  const refused = [
    [r.notTrunk, 'from no trunk'],
    [r.noLine, 'to no line'],
    [r.recordingUnavailable, 'recording unavailable'],
    [r.draining, 'while draining'],
  ].filter(([n]) => n !== 0);
  if (refused.length > 0) lines.push(`refused: ${refused.map(([n, why]) => `${n} ${why}`).join(', ')}`);
  for (const [line, l] of Object.entries(h.lines ?? {})) {
    lines.push(`line ${line}: ${l.complete} recorded whole${l.incomplete > 0 ? `, ${l.incomplete} INCOMPLETE` : ''}, ${l.unrecorded} not recorded`);
  }
  const s = h.spool;
  if (s) {
    const waiting = s.oldestSealedAgeSeconds !== undefined ? `, the oldest finished one waiting ${s.oldestSealedAgeSeconds} s for the store` : '';
    const free = s.diskFreeBytes !== undefined ? `; ${sizeOf(s.diskFreeBytes)} free on its disk` : '';
    lines.push(`spool: ${sizeOf(s.usedBytes)} of ${sizeOf(s.maxBytes)} in ${plural(s.entries, 'entry', 'entries')}${waiting}${free}`);
  }
  const u = h.uploads;
  if (u) {
    const failing = u.failuresSinceSuccess > 0 ? `; FAILING: ${plural(u.failuresSinceSuccess, 'attempt')} since the last success` : '';
    lines.push(`uploads: ${u.uploaded} stored (${sizeOf(u.bytesUploaded)}), ${u.uploading} under way (${u.streaming} live), ${u.queued} queued, ${u.retrying} retrying${failing}`);
  }
  const t = h.retention;
  if (t) {
    const last = t.last ? `last ${t.last.finishedAt}: ${t.last.deleted} deleted, ${t.last.held} held${t.last.error !== undefined ? `, stopped early (${t.last.error})` : ''}` : 'none since start';
    lines.push(`retention sweeps: ${t.sweep === false ? 'off' : `"${t.sweep}"`}${t.nextRun !== undefined ? `, next ${t.nextRun}` : ''}; ${last}`);
  }
  if (h.sip) lines.push(`sip: ${h.sip.received} received, ${h.sip.malformed} malformed (${h.sip.rejected400} answered 400)`);
  if (h.media) lines.push(`rtp: ${h.media.rtpRelayed} relayed, ${h.media.droppedSource} dropped for their source, ${h.media.malformed} malformed`);
  return `${lines.join('\n')}\n`;
}

export async function runStatus(args: readonly string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const a = parseCommandArgs(args, { values: ['--config', '--token-file'], flags: ['--json', '--help'] });
  if (a.flags.has('--help')) {
    out.write(STATUS_USAGE);
    return 0;
  }
  const { authority, token } = await controlTarget(loadCommandConfig(a.values.get('--config')), a.values.get('--token-file'), 'there is no health to read');
  const url = `http://${authority}/health`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    process.stderr.write(`recgw: no answer from ${url}: ${messageOf(err)} (is the gateway running?)\n`);
    return 1;
  }
  const body = await res.text();
  if (!res.ok) {
    process.stderr.write(`recgw: ${url} refused (${res.status}): ${body}\n`);
    return 1;
  }
  const health = JSON.parse(body) as HealthView;
  out.write(a.flags.has('--json') ? `${body}\n` : statusText(health));
  return health.status === 'ok' ? 0 : 1;
}
