/**
 * Finding a number's calls for a subject access request: the number compared
 * as people write it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameNumber } from '../../src/access/find.js';

test('one number however it is written; different numbers stay apart', () => {
  for (const [a, b] of [
    ['07700900123', '+44 7700 900123'],
    ['07700 900123', '447700900123'],
    ['+447700900123', '0044 7700 900123'],
    ['2001', '2001'],
  ]) {
    assert.ok(sameNumber(a ?? '', b ?? ''), `${a} is ${b}`);
  }
  for (const [a, b] of [
    ['07700900123', '07700900124'],
    ['2001', '12001'],
    ['anonymous', 'anonymous'],
    ['', '07700900123'],
  ]) {
    assert.ok(!sameNumber(a ?? '', b ?? ''), `${a} is not ${b}`);
  }
});
