import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtmfOfInfo } from '../../src/call/info-dtmf.js';

test('application/dtmf-relay gives the signal and its duration', () => {
  assert.deepEqual(dtmfOfInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'), { digit: '5', durationMs: 160 });
  assert.deepEqual(dtmfOfInfo('Application/DTMF-Relay; charset=x', 'Signal= *\nDuration=abc\n'), { digit: '*', durationMs: 250 });
  assert.deepEqual(dtmfOfInfo('application/dtmf-relay', 'Signal=#\r\nDuration=99999999\r\n'), { digit: '#', durationMs: 10_000 });
});

test('application/dtmf gives the key alone', () => {
  assert.deepEqual(dtmfOfInfo('application/dtmf', '7\r\n'), { digit: '7', durationMs: 250 });
});

test('anything else is not a digit', () => {
  assert.equal(dtmfOfInfo('application/dtmf-relay', 'Signal=55\r\n'), null);
  assert.equal(dtmfOfInfo('application/dtmf-relay', 'Duration=100\r\n'), null);
  assert.equal(dtmfOfInfo('application/sdp', 'v=0'), null);
  assert.equal(dtmfOfInfo(undefined, '5'), null);
  assert.equal(dtmfOfInfo('application/dtmf', 'hello'), null);
});
