import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerCheck, MIN_TOKEN_LENGTH } from '../../src/control/auth.js';
import { CONTROL_ERROR_STATUS, ControlError } from '../../src/control/errors.js';

test('bearerCheck tells a missing, malformed and wrong token apart, and accepts only the exact one', () => {
  const token = 'k'.repeat(MIN_TOKEN_LENGTH) + '-Z9';
  const check = bearerCheck(token);
  assert.equal(check(`Bearer ${token}`), 'ok');
  assert.equal(check(`BEARER   ${token}  `), 'ok');
  assert.equal(check(undefined), 'missing');
  assert.equal(check(''), 'missing');
  assert.equal(check(token), 'malformed');
  assert.equal(check('Bearer'), 'malformed');
  assert.equal(check(`Bearer ${token} extra`), 'malformed');
  assert.equal(check(`Basic ${token}`), 'malformed');
  assert.equal(check(`Bearer ${token}x`), 'wrong-token');
  assert.equal(check(`Bearer ${token.slice(0, -1)}`), 'wrong-token');
  assert.equal(check(`Bearer ${token.toLowerCase()}`), 'wrong-token');
  assert.throws(() => bearerCheck('k'.repeat(MIN_TOKEN_LENGTH - 1)), RangeError);
});

test('each ControlError code carries its HTTP status', () => {
  for (const [code, status] of Object.entries(CONTROL_ERROR_STATUS)) {
    const e = new ControlError(code as keyof typeof CONTROL_ERROR_STATUS, 'x');
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    assert.equal(e.name, 'ControlError');
  }
});
