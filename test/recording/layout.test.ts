/** The store's key layout read back: what the retention sweep and the number search take a key apart with. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditCopyKey, keySafe, manifestKey, objectKey, parseAuditCopyKey, parseRecordingKey } from '../../src/recording/layout.js';

test('a recording key comes apart into the line, day and call folder it was made from; other keys do not', () => {
  const startedAt = new Date('2026-12-07T23:59:59.900Z');
  // The call's second segment starts after midnight: it is still filed under the day the call started, beside its manifest.
  const segment = objectKey({ callId: 'A84b@pc33', leg: 'agent', segment: 2, codec: 'PCMA', sampleRate: 8000, startedAt: new Date('2026-12-08T00:04:59.900Z'), callStartedAt: startedAt, line: 'Help Line', direction: 'inbound' });
  assert.deepEqual(parseRecordingKey(segment), { line: 'help-line', day: '2026-12-07', folder: 'a84b-pc33', prefix: 'help-line/2026/12/07/a84b-pc33/', name: 'agent-2.rec' });
  assert.equal(parseRecordingKey(manifestKey('Help Line', 'A84b@pc33', startedAt, 'start'))?.prefix, 'help-line/2026/12/07/a84b-pc33/');
  assert.equal(parseRecordingKey(manifestKey('Help Line', 'A84b@pc33', startedAt, 'start'))?.name, 'manifest-start.rec');
  for (const other of ['holds/a84b-pc33.json', 'releases/20261207T235959900Z-0a1b2c3d.json', 'help-line/2026/12/a84b/x.rec', 'help-line/2026/12/07/a84b/sub/x.rec']) {
    assert.equal(parseRecordingKey(other), undefined, other);
  }
});

test('an audit copy\'s key: built and read back, key order is record order, and anything else is not one', () => {
  const key = auditCopyKey('gw 1.example', 7, 12, 'ab'.repeat(32));
  assert.equal(key, `audit/${keySafe('gw 1.example')}/000000000007-000000000012-abababababab.jsonl`);
  assert.deepEqual(parseAuditCopyKey(key), { host: keySafe('gw 1.example'), firstSeq: 7, lastSeq: 12, hash: 'abababababab' });
  assert.ok(auditCopyKey('h', 9, 9, 'f'.repeat(64)) < auditCopyKey('h', 10, 10, '0'.repeat(64)));
  assert.equal(parseAuditCopyKey('helpline/2026/12/07/c1/manifest.rec'), undefined);
  assert.equal(parseAuditCopyKey('audit/h/7-12.jsonl'), undefined);
});
