/**
 * The windows of a `record: schedule` line. Checked here so that evaluating
 * them per call (call/schedule.ts) can trust the zone, the dates and the times.
 */
import type { ScheduleWindow, Weekday } from './types.js';
import type { Checker, Path } from './check.js';

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{1,2}):(\d{2})$/;

export function checkSchedule(c: Checker, v: unknown, path: Path): readonly ScheduleWindow[] {
  return c.list(v, path, 'windows ({ timeZone, from, until, days, start, end })').map((entry, i) => checkWindow(c, entry, [...path, i]));
}

function checkWindow(c: Checker, v: unknown, path: Path): ScheduleWindow {
  const w = c.mapping(v, path);
  const timeZone = zone(c, w['timeZone'], [...path, 'timeZone']);
  const from = w['from'] === undefined ? undefined : date(c, w['from'], [...path, 'from']);
  const until = w['until'] === undefined ? undefined : date(c, w['until'], [...path, 'until']);
  // ISO dates compare as text.
  if (from && until && from > until) c.fail([...path, 'until'], `must not be before from (${from})`);
  const days = w['days'] === undefined ? undefined : weekdays(c, w['days'], [...path, 'days']);
  const start = w['start'] === undefined ? '00:00' : time(c, w['start'], [...path, 'start']);
  if (start === '24:00') c.fail([...path, 'start'], 'must be 00:00–23:59: a window cannot open at the end of the day');
  const end = w['end'] === undefined ? '24:00' : time(c, w['end'], [...path, 'end']);
  if (start !== '' && start !== '24:00' && start === end) c.fail([...path, 'end'], `must differ from start (${start}); leave both out for the whole day`);
  return { timeZone, ...(from ? { from } : {}), ...(until ? { until } : {}), ...(days ? { days } : {}), start, end };
}

/** Intl is the zone database the evaluation uses, so it is the one that judges the name; its spelling is kept. */
export function zone(c: Checker, v: unknown, path: Path): string {
  const name = c.string(v, path, 'an IANA time zone such as Europe/London');
  if (name === '') return name;
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    c.fail(path, 'must be an IANA time zone such as Europe/London or UTC');
    return '';
  }
}

function date(c: Checker, v: unknown, path: Path): string {
  const m = typeof v === 'string' ? DATE.exec(v) : null;
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const t = new Date(Date.UTC(y, mo - 1, d));
    // Date rolls 2026-02-30 over to March; a real date survives the round trip.
    if (t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d) return v as string;
  }
  c.fail(path, 'must be a calendar date YYYY-MM-DD');
  return '';
}

function time(c: Checker, v: unknown, path: Path): string {
  const m = typeof v === 'string' ? TIME.exec(v) : null;
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (m && ((h <= 23 && min <= 59) || (h === 24 && min === 0))) return `${String(h).padStart(2, '0')}:${m[2] ?? '00'}`;
  c.fail(path, 'must be a local time HH:MM, 00:00–24:00');
  return '';
}

function weekdays(c: Checker, v: unknown, path: Path): readonly Weekday[] {
  const list = c.list(v, path, `days (${WEEKDAYS.join(', ')})`);
  const seen = new Set<Weekday>();
  list.forEach((d, i) => {
    const day = typeof d === 'string' ? (WEEKDAYS as readonly string[]).indexOf(d.toLowerCase()) : -1;
    const name = WEEKDAYS[day];
    if (name === undefined) c.fail([...path, i], `must be one of ${WEEKDAYS.join(', ')}`);
    else if (seen.has(name)) c.fail([...path, i], `'${name}' is listed twice`);
    else seen.add(name);
  });
  // Week order, whatever the file's order: logs and tests read the same.
  return WEEKDAYS.filter((d) => seen.has(d));
}
