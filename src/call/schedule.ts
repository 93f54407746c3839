/**
 * Whether a `record: schedule` line records at a given instant. Windows are
 * wall-clock times in their own zone, so the instant is turned into the
 * zone's local date and time (Intl, the runtime's zone database) and compared
 * there: 08:00–20:00 stays 08:00–20:00 local on the days the clocks change.
 */
import type { ScheduleWindow, Weekday } from '../config/types.js';

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_MS = 86_400_000;

/** A local calendar day as a count of days since 1970-01-01, and the minute of that day. */
interface LocalTime {
  readonly day: number;
  readonly minute: number;
}

/** Building a formatter costs far more than using one; there is one per configured zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      // h23: midnight is 00, never 24.
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localTime(at: Date, timeZone: string): LocalTime {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(timeZone).formatToParts(at)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day: Date.UTC(year, month - 1, day) / DAY_MS, minute: hour * 60 + minute };
}

/** `YYYY-MM-DD` (checked at load) as days since 1970-01-01. */
function dayOf(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
}

function minuteOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** Whether the window opens on local day `day`: its dates and weekdays. */
function opensOn(w: ScheduleWindow, day: number): boolean {
  if (w.from !== undefined && day < dayOf(w.from)) return false;
  if (w.until !== undefined && day > dayOf(w.until)) return false;
  // 1970-01-01 was a Thursday.
  const weekday = WEEKDAYS[(((day + 4) % 7) + 7) % 7];
  return w.days === undefined || (weekday !== undefined && w.days.includes(weekday));
}

function inWindow(w: ScheduleWindow, at: Date): boolean {
  const local = localTime(at, w.timeZone);
  const start = minuteOf(w.start);
  const end = minuteOf(w.end);
  if (start < end) return local.minute >= start && local.minute < end && opensOn(w, local.day);
  // Across midnight: the evening belongs to today's window, the small hours to yesterday's.
  if (local.minute >= start) return opensOn(w, local.day);
  return local.minute < end && opensOn(w, local.day - 1);
}

/** True when `at` falls in any of the windows. */
export function scheduledAt(windows: readonly ScheduleWindow[], at: Date): boolean {
  return windows.some((w) => inWindow(w, at));
}
