import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduledAt } from '../../src/call/schedule.js';
import type { ScheduleWindow } from '../../src/config/types.js';

const london = (w: Partial<ScheduleWindow> = {}): ScheduleWindow => ({ timeZone: 'Europe/London', start: '00:00', end: '24:00', ...w });
const at = (iso: string): Date => new Date(iso);

/** Asserts each instant (UTC) is in or out, naming the instant on failure. */
function check(windows: readonly ScheduleWindow[], inside: readonly string[], outside: readonly string[]): void {
  for (const iso of inside) assert.equal(scheduledAt(windows, at(iso)), true, `${iso} should be in`);
  for (const iso of outside) assert.equal(scheduledAt(windows, at(iso)), false, `${iso} should be out`);
}

test('a window opens at start and closes just before end, local time', () => {
  // June: London is UTC+1, so 08:00–20:00 local is 07:00–19:00 UTC.
  check(
    [london({ start: '08:00', end: '20:00' })],
    ['2026-06-10T07:00:00.000Z', '2026-06-10T12:00:00Z', '2026-06-10T18:59:59.999Z'],
    ['2026-06-10T06:59:59.999Z', '2026-06-10T19:00:00.000Z', '2026-06-10T23:30:00Z'],
  );
  // January: London is UTC.
  check([london({ start: '08:00', end: '20:00' })], ['2026-01-14T08:00:00Z', '2026-01-14T19:59:59Z'], ['2026-01-14T07:59:59Z', '2026-01-14T20:00:00Z']);
});

test('08:00–20:00 stays 08:00–20:00 local on the days the clocks change (Europe/London)', () => {
  const day = [london({ start: '08:00', end: '20:00' })];
  // 2026-03-29: 01:00 GMT becomes 02:00 BST; the window is 07:00–19:00 UTC that day.
  check(day, ['2026-03-29T07:00:00Z', '2026-03-29T18:59:59Z'], ['2026-03-29T06:59:59Z', '2026-03-29T19:00:00Z', '2026-03-29T06:30:00Z']);
  // The day before is still GMT: 08:00–20:00 UTC.
  check(day, ['2026-03-28T08:00:00Z', '2026-03-28T19:59:59Z'], ['2026-03-28T07:59:59Z', '2026-03-28T20:00:00Z']);
  // 2026-10-25: 02:00 BST becomes 01:00 GMT; the window is 08:00–20:00 UTC that day.
  check(day, ['2026-10-25T08:00:00Z', '2026-10-25T19:59:59Z'], ['2026-10-25T07:59:59Z', '2026-10-25T20:00:00Z']);
  // The day before is still BST.
  check(day, ['2026-10-24T07:00:00Z', '2026-10-24T18:59:59Z'], ['2026-10-24T06:59:59Z', '2026-10-24T19:00:00Z']);
});

test('the hour the clocks skip never opens; the hour they repeat is in twice', () => {
  const smallHours = [london({ start: '01:00', end: '02:00' })];
  // 2026-03-29 00:59 UTC is 00:59 GMT; one minute later it is 02:00 BST.
  check(smallHours, [], ['2026-03-29T00:59:59Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z']);
  // 2026-10-25 01:00–02:00 local happens at 00:00–01:00 UTC (BST) and again at 01:00–02:00 UTC (GMT).
  check(smallHours, ['2026-10-25T00:00:00Z', '2026-10-25T00:59:59Z', '2026-10-25T01:00:00Z', '2026-10-25T01:59:59Z'], ['2026-10-24T23:59:59Z', '2026-10-25T02:00:00Z']);
});

test('a window across midnight belongs to the day it starts', () => {
  // Friday night into Saturday morning only. 2026-06-12 is a Friday (BST).
  const fridayNight = [london({ days: ['fri'], start: '22:00', end: '06:00' })];
  check(
    fridayNight,
    ['2026-06-12T21:00:00Z' /* Fri 22:00 */, '2026-06-12T23:00:00Z' /* Sat 00:00 */, '2026-06-13T04:59:59Z' /* Sat 05:59 */],
    [
      '2026-06-12T20:59:59Z' /* Fri 21:59 */,
      '2026-06-13T05:00:00Z' /* Sat 06:00 */,
      '2026-06-12T03:00:00Z' /* Fri 04:00: Thursday's window */,
      '2026-06-13T21:00:00Z' /* Sat 22:00 */,
    ],
  );
  // The night of the last day still runs to its end the next morning; the next night is out.
  const untilThursday = [london({ until: '2026-05-07', start: '22:00', end: '02:00' })];
  check(untilThursday, ['2026-05-07T21:00:00Z', '2026-05-08T00:59:59Z'], ['2026-05-08T01:00:00Z', '2026-05-08T21:00:00Z']);
  // And the first night begins on `from`, not the morning of it.
  const fromFriday = [london({ from: '2026-05-08', start: '22:00', end: '02:00' })];
  check(fromFriday, ['2026-05-08T21:00:00Z', '2026-05-09T00:30:00Z'], ['2026-05-08T00:30:00Z']);
});

test('weekdays filter the days a window opens on', () => {
  const weekdays = [london({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' })];
  // 2026-01-09 is a Friday, 2026-01-10 a Saturday, 2026-01-11 a Sunday, 2026-01-12 a Monday (GMT).
  check(weekdays, ['2026-01-09T12:00:00Z', '2026-01-12T09:00:00Z'], ['2026-01-10T12:00:00Z', '2026-01-11T12:00:00Z', '2026-01-12T08:59:59Z']);
});

test('from and until are whole local days', () => {
  const spring = [london({ from: '2026-04-01', until: '2026-05-07' })];
  check(
    spring,
    ['2026-03-31T23:00:00Z' /* 1 April 00:00 BST */, '2026-04-20T12:00:00Z', '2026-05-07T22:59:59Z' /* 7 May 23:59 BST */],
    ['2026-03-31T22:59:59Z', '2026-05-07T23:00:00Z', '2025-04-20T12:00:00Z'],
  );
  check([london({ from: '2026-04-01', until: '2026-04-01' })], ['2026-04-01T12:00:00Z'], ['2026-04-02T12:00:00Z', '2026-03-31T12:00:00Z']);
});

test('each window is read in its own zone; any window is enough', () => {
  const londonOffice = london({ start: '09:00', end: '17:00' });
  const newYorkOffice: ScheduleWindow = { timeZone: 'America/New_York', start: '09:00', end: '17:00' };
  // 2026-01-15 18:00 UTC: 18:00 in London (closed), 13:00 in New York (open).
  const evening = at('2026-01-15T18:00:00Z');
  assert.equal(scheduledAt([londonOffice], evening), false);
  assert.equal(scheduledAt([newYorkOffice], evening), true);
  assert.equal(scheduledAt([londonOffice, newYorkOffice], evening), true);
  check([londonOffice, newYorkOffice], ['2026-01-15T14:30:00Z'], ['2026-01-15T08:30:00Z', '2026-01-15T22:00:00Z']);
  // Auckland is a day ahead: Thursday 20:00 UTC is Friday 09:00 there (NZDT, UTC+13).
  const aucklandFriday: ScheduleWindow = { timeZone: 'Pacific/Auckland', days: ['fri'], start: '09:00', end: '17:00' };
  check([aucklandFriday], ['2026-01-15T20:00:00Z'], ['2026-01-15T19:59:59Z', '2026-01-16T20:00:00Z']);
});

test('no window means never; a whole-day window means always', () => {
  assert.equal(scheduledAt([], at('2026-06-10T12:00:00Z')), false);
  check([london()], ['2026-06-10T23:00:00Z', '2026-06-10T22:59:59Z', '2026-03-29T01:00:00Z', '2026-10-25T01:30:00Z'], []);
});
