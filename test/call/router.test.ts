import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesTarget, Router } from '../../src/call/router.js';
import { parseConfig } from '../../src/config/load.js';

const line = (fields: Record<string, unknown>): Record<string, unknown> => ({ name: `line-${String(fields['number'] ?? fields['prefix'])}`, target: 'sip:queue@127.0.0.1', record: 'always', ...fields });

/** Weekdays 08:00–20:00 London time. */
const officeHours = [{ timeZone: 'Europe/London', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '20:00' }];

// Built by the real validator, so the router sees what the gateway sees.
const config = parseConfig(
  {
    trunks: [
      { name: 'pstn', addresses: ['192.0.2.1', '2001:db8::1'], target: 'sip:192.0.2.1:5062;transport=tcp' },
      { name: 'backup', addresses: ['192.0.2.9'] },
    ],
    pbxs: [{ name: 'acd', addresses: ['198.51.100.7'], trunk: 'pstn' }],
    lines: [
      line({ number: '1000', extensions: ['2001', '2002'] }),
      line({ number: '1001', record: false }),
      line({ number: '1002', record: 'schedule', schedule: officeHours }),
      line({ prefix: '01632', record: 'never', extensions: ['3001'] }),
      line({ prefix: '016329', record: 'schedule', schedule: officeHours }),
      line({ number: '01632960000' }),
    ],
  },
  'router test',
);
const router = new Router(config);
const byName = (name: string) => config.lines.find((l) => l.name === name);

// A Wednesday in June (BST, UTC+1): 12:00 local is in office hours, 21:00 local is not.
const open = new Date('2026-06-10T11:00:00Z');
const closed = new Date('2026-06-10T20:00:00Z');

test('only trunk addresses may start calls', () => {
  assert.deepEqual(router.route('192.0.2.2', '1000'), { kind: 'reject', status: 403, reason: 'Forbidden' });
  assert.equal(router.route('192.0.2.1', '1000').kind, 'line');
  assert.equal(router.route('::ffff:192.0.2.1', '1000').kind, 'line', 'IPv4-mapped source');
  assert.equal(router.route('2001:DB8::1', '1000').kind, 'line');
  assert.equal(router.route('198.51.100.7', '1000').kind, 'reject', 'a PBX is no trunk');
});

test('a number that is no line gets 404; the trunk check comes first', () => {
  assert.deepEqual(router.route('192.0.2.1', '1003'), { kind: 'reject', status: 404, reason: 'Not Found' });
  const r = router.route('203.0.113.9', '1003');
  assert.equal(r.kind === 'reject' ? r.status : 0, 403, 'a stranger learns nothing about which numbers exist');
});

test('an exact number wins, then the longest prefix', () => {
  const lineOf = (called: string): string | undefined => {
    const r = router.route('192.0.2.1', called);
    return r.kind === 'line' ? r.line.name : undefined;
  };
  assert.equal(lineOf('01632960000'), 'line-01632960000', 'exact beats both prefixes');
  assert.equal(lineOf('01632960001'), 'line-016329', 'the longer prefix beats the shorter');
  assert.equal(lineOf('01632100000'), 'line-01632');
  assert.equal(lineOf('01632'), 'line-01632', 'a prefix matches itself');
  assert.equal(lineOf('0163'), undefined);
  assert.equal(lineOf('10001'), undefined, 'an exact number is no prefix');
});

test('the decision says whether this call is recorded: always, never, or by the schedule', () => {
  const recorded = (called: string, at: Date): boolean | undefined => {
    const r = router.route('192.0.2.1', called, at);
    return r.kind === 'line' ? r.record : undefined;
  };
  assert.deepEqual(router.route('192.0.2.1', '1000', closed), { kind: 'line', line: byName('line-1000'), trunk: config.trunks[0], record: true });
  assert.equal(recorded('1001', open), false);
  assert.equal(recorded('1002', open), true);
  assert.equal(recorded('1002', closed), false);
  assert.equal(recorded('1002', new Date('2026-06-13T11:00:00Z')), false, 'a Saturday');
  assert.equal(recorded('0163291', open), true);
  assert.equal(recorded('0163291', closed), false);
  assert.equal(recorded('0163211', open), false, 'the never prefix');
  assert.equal(typeof recorded('1002', new Date()), 'boolean', 'the time defaults to now');
});

test('outbound: only a PBX may call out; the request URI goes to the trunk target', () => {
  assert.deepEqual(router.routeOutbound('192.0.2.1', '2001', '441632960123'), { kind: 'reject', status: 403, reason: 'Forbidden' });
  assert.deepEqual(router.routeOutbound('203.0.113.9', '2001', '441632960123'), { kind: 'reject', status: 403, reason: 'Forbidden' });
  const r = router.routeOutbound('::ffff:198.51.100.7', '2001', '+441632960123', open);
  assert.equal(r.kind, 'outbound');
  if (r.kind !== 'outbound') return;
  assert.equal(r.pbx, config.pbxs[0]);
  assert.equal(r.trunk, config.trunks[0]);
  assert.equal(r.target, 'sip:+441632960123@192.0.2.1:5062;transport=tcp');
  assert.equal(r.line, byName('line-1000'));
  assert.equal(r.record, true);
  // A called "number" that would rewrite the request URI is refused, not spliced in.
  assert.deepEqual(router.routeOutbound('198.51.100.7', '2001', 'x@evil.example'), { kind: 'reject', status: 404, reason: 'Not Found' });
});

test('outbound: the line of the calling extension, else of the calling number; none is not recorded', () => {
  const outbound = (calling: string, at: Date) => {
    const r = router.routeOutbound('198.51.100.7', calling, '5551234', at);
    assert.equal(r.kind, 'outbound');
    return r.kind === 'outbound' ? { line: r.line?.name, record: r.record } : undefined;
  };
  assert.deepEqual(outbound('2002', closed), { line: 'line-1000', record: true });
  assert.deepEqual(outbound('3001', open), { line: 'line-01632', record: false }, 'an extension on a never line');
  assert.deepEqual(outbound('1002', open), { line: 'line-1002', record: true }, 'the line number itself');
  assert.deepEqual(outbound('1002', closed), { line: 'line-1002', record: false });
  assert.deepEqual(outbound('01632870000', open), { line: 'line-01632', record: false }, 'a number in a prefix line');
  assert.deepEqual(outbound('0163291', open), { line: 'line-016329', record: true });
  assert.deepEqual(outbound('4999', open), { line: undefined, record: false });
  const none = router.routeOutbound('198.51.100.7', '4999', '5551234');
  assert.ok(none.kind === 'outbound' && !('line' in none), 'no line key at all');
});

test('isPbx names the PBX of a source address, and nothing else', () => {
  assert.equal(router.isPbx('198.51.100.7'), config.pbxs[0]);
  assert.equal(router.isPbx('::FFFF:198.51.100.7'), config.pbxs[0]);
  assert.equal(router.isPbx('192.0.2.1'), undefined, 'a trunk is no PBX');
  assert.equal(router.isPbx('203.0.113.9'), undefined);
});

test('matchesTarget: a number matches any URI with that user; a URI matches user, host and port', () => {
  const list = ['5999', '#31', 'sip:pay@10.0.0.5', 'sip:agent@PBX.example:5070'];
  for (const hit of ['5999', 'sip:5999@10.9.9.9', 'sips:5999@pay.example;transport=tls', '<sip:5999;phone-context=example@10.0.0.1>', 'tel:5999', 'sip:%2331@10.0.0.1']) {
    assert.equal(matchesTarget(list, hit), true, hit);
  }
  for (const hit of ['sip:pay@10.0.0.5', 'sip:pay@10.0.0.5:5060', 'sip:pay@10.0.0.5;transport=tcp', 'sip:agent@pbx.example:5070;user=phone']) {
    assert.equal(matchesTarget(list, hit), true, hit);
  }
  for (const miss of ['59990', 'sip:59990@10.0.0.5', 'sip:pay@10.0.0.6', 'sip:pay@10.0.0.5:5070', 'sip:Pay@10.0.0.5', 'sip:agent@pbx.example', 'sip:10.0.0.5', 'pay', '']) {
    assert.equal(matchesTarget(list, miss), false, miss);
  }
  assert.equal(matchesTarget([], '5999'), false);
});
