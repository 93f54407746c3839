import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from '../../src/call/router.js';

const router = new Router({
  trunks: [{ name: 'pstn', addresses: ['192.0.2.1', '2001:db8::1'] }],
  lines: [{ number: '1000', name: 'helpline', target: 'sip:queue@127.0.0.1', record: true, retentionDays: 90, onRecordingFailure: 'continue' }],
});

test('only trunk addresses may start calls', () => {
  assert.deepEqual(router.route('192.0.2.2', '1000'), { kind: 'reject', status: 403, reason: 'Forbidden' });
  assert.equal(router.route('192.0.2.1', '1000').kind, 'line');
  assert.equal(router.route('::ffff:192.0.2.1', '1000').kind, 'line', 'IPv4-mapped source');
  assert.equal(router.route('2001:DB8::1', '1000').kind, 'line');
});

test('a number that is no line gets 404; the trunk check comes first', () => {
  assert.deepEqual(router.route('192.0.2.1', '1001'), { kind: 'reject', status: 404, reason: 'Not Found' });
  const r = router.route('203.0.113.9', '1001');
  assert.equal(r.kind === 'reject' ? r.status : 0, 403, 'a stranger learns nothing about which numbers exist');
});
