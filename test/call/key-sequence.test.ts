import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeySequence } from '../../src/call/key-sequence.js';

test('a sequence acts once when its keys come in order, inside the gap', () => {
  let t = 0;
  const fired: string[] = [];
  const keys = new KeySequence(
    [
      { keys: '*7', action: () => fired.push('pause') },
      { keys: '*8', action: () => fired.push('resume') },
    ],
    3000,
    () => t,
  );
  for (const d of '12*7') keys.push(d);
  assert.deepEqual(fired, ['pause']);
  keys.push('7');
  assert.deepEqual(fired, ['pause'], 'the matched keys are used up');
  keys.push('*');
  t += 5000;
  keys.push('8');
  assert.deepEqual(fired, ['pause'], 'keys too far apart do not make a sequence');
  keys.push('*');
  t += 1000;
  keys.push('8');
  assert.deepEqual(fired, ['pause', 'resume']);
});
