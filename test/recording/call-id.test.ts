/** Call ids carry the time they were made, so a call's objects are found from the id alone. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { callIdDays, callIdTime, newCallId } from '../../src/recording/call-id.js';

test('a call id is a version-7 UUID holding the millisecond it was made, and ids sort by it', () => {
  const at = Date.parse('2026-12-07T23:59:59.123Z');
  const id = newCallId(at);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(callIdTime(id)?.toISOString(), '2026-12-07T23:59:59.123Z');
  assert.notEqual(newCallId(at), id, 'random past the time');
  const later = newCallId(at + 1);
  assert.ok(id < later, 'a later id sorts after');
  assert.ok(Math.abs((callIdTime(newCallId())?.getTime() ?? 0) - Date.now()) < 5000, 'made now by default');
});

test('the days a call\'s objects can be under: the id\'s day, the two after and the one before; none for an id without a time', () => {
  const id = newCallId(Date.parse('2026-12-07T23:59:59.123Z'));
  assert.deepEqual(callIdDays(id)?.map((d) => d.toISOString().slice(0, 10)), ['2026-12-06', '2026-12-07', '2026-12-08', '2026-12-09']);
  assert.equal(callIdTime(id.toUpperCase())?.toISOString(), '2026-12-07T23:59:59.123Z', 'as typed in capitals');
  for (const other of [randomUUID(), 'Call-7@pstn', '', `${id}x`]) {
    assert.equal(callIdTime(other), undefined, other);
    assert.equal(callIdDays(other), undefined, other);
  }
});
