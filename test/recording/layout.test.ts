/** The store's key layout read back: what the retention sweep and the number search take a key apart with. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manifestKey, objectKey, parseRecordingKey } from '../../src/recording/layout.js';

test('a recording key comes apart into the line, day and call folder it was made from; other keys do not', () => {
  const startedAt = new Date('2026-12-07T23:59:59.900Z');
  const segment = objectKey({ callId: 'A84b@pc33', leg: 'agent', segment: 2, codec: 'PCMA', sampleRate: 8000, startedAt, line: 'Help Line', direction: 'inbound' });
  assert.deepEqual(parseRecordingKey(segment), { line: 'help-line', day: '2026-12-07', folder: 'a84b-pc33', prefix: 'help-line/2026/12/07/a84b-pc33/', name: 'agent-2.rec' });
  assert.equal(parseRecordingKey(manifestKey('Help Line', 'A84b@pc33', startedAt, 'start'))?.name, 'manifest-start.rec');
  for (const other of ['holds/a84b-pc33.json', 'releases/20261207T235959900Z-0a1b2c3d.json', 'help-line/2026/12/a84b/x.rec', 'help-line/2026/12/07/a84b/sub/x.rec']) {
    assert.equal(parseRecordingKey(other), undefined, other);
  }
});
