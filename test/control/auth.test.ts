import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerAuth, mayTake, MIN_TOKEN_LENGTH, type AuthResult } from '../../src/control/auth.js';
import { CONTROL_ERROR_STATUS, ControlError } from '../../src/control/errors.js';

test('bearerAuth tells a missing, malformed and wrong token apart, and names whose exact token it is', () => {
  const token = 'k'.repeat(MIN_TOKEN_LENGTH) + '-Z9';
  const desk = 'd'.repeat(MIN_TOKEN_LENGTH);
  const auth = bearerAuth([
    { name: 'admin', role: 'admin', token },
    { name: 'agent-desktop', role: 'operator', token: desk },
  ]);
  const outcome = (r: AuthResult): string => (r.outcome === 'ok' ? r.principal.name : r.outcome);
  assert.equal(outcome(auth(`Bearer ${token}`)), 'admin');
  assert.equal(outcome(auth(`BEARER   ${token}  `)), 'admin');
  assert.deepEqual(auth(`Bearer ${desk}`), { outcome: 'ok', principal: { name: 'agent-desktop', role: 'operator' } });
  assert.equal(outcome(auth(undefined)), 'missing');
  assert.equal(outcome(auth('')), 'missing');
  assert.equal(outcome(auth(token)), 'malformed');
  assert.equal(outcome(auth('Bearer')), 'malformed');
  assert.equal(outcome(auth(`Bearer ${token} extra`)), 'malformed');
  assert.equal(outcome(auth(`Basic ${token}`)), 'malformed');
  assert.equal(outcome(auth(`Bearer ${token}x`)), 'wrong-token');
  assert.equal(outcome(auth(`Bearer ${token.slice(0, -1)}`)), 'wrong-token');
  assert.equal(outcome(auth(`Bearer ${token.toLowerCase()}`)), 'wrong-token');
  assert.throws(() => bearerAuth([{ name: 'short', role: 'records', token: 'k'.repeat(MIN_TOKEN_LENGTH - 1) }]), RangeError);
});

test('an operator takes the calls and the log, records the holds, sweeps and erasures, a monitor only reads; all read health and metrics; admin takes all', () => {
  const operator = { name: 'desk', role: 'operator' } as const;
  const records = { name: 'records', role: 'records' } as const;
  const monitor = { name: 'prometheus', role: 'monitor' } as const;
  const admin = { name: 'admin', role: 'admin' } as const;
  const routes = ['health', 'metrics', 'list', 'get', 'action', 'logs', 'holds', 'hold', 'release-hold', 'sweep', 'erase'] as const;
  assert.deepEqual(routes.filter((r) => mayTake(operator, r)), ['health', 'metrics', 'list', 'get', 'action', 'logs']);
  assert.deepEqual(routes.filter((r) => mayTake(records, r)), ['health', 'metrics', 'holds', 'hold', 'release-hold', 'sweep', 'erase']);
  assert.deepEqual(routes.filter((r) => mayTake(monitor, r)), ['health', 'metrics']);
  assert.deepEqual(routes.filter((r) => mayTake(admin, r)), [...routes]);
});

test('each ControlError code carries its HTTP status', () => {
  for (const [code, status] of Object.entries(CONTROL_ERROR_STATUS)) {
    const e = new ControlError(code as keyof typeof CONTROL_ERROR_STATUS, 'x');
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    assert.equal(e.name, 'ControlError');
  }
});
