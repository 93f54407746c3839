/**
 * The log's live tail: a real pino logger writing through the hub, its
 * backlog ring and its followers' filters.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { LogHub } from '../../src/ops/log-hub.js';
import { createLogger } from '../../src/ops/log.js';

const discard = (): Writable => new Writable({ write: (_c, _e, done) => done() });
const msgs = (lines: readonly string[]): string[] => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);

test('the hub keeps the last lines the logger wrote, and a follower sees each new line that matches its filter', () => {
  const hub = new LogHub(4);
  const log = createLogger({ level: 'debug', destination: discard(), hub });
  for (let i = 1; i <= 6; i++) log.info(`line ${i}`);
  assert.deepEqual(msgs(hub.recent({}, 10)), ['line 3', 'line 4', 'line 5', 'line 6'], 'a ring of four keeps the newest four, oldest first');
  assert.deepEqual(msgs(hub.recent({}, 2)), ['line 5', 'line 6']);

  const seen: string[] = [];
  const warnings: string[] = [];
  const unfollow = hub.follow({ filter: { line: 'helpline', callId: 'c-1' }, send: (l) => seen.push(l) });
  hub.follow({ filter: { minLevel: 40 }, send: (l) => warnings.push(l) });
  const call = log.child({ callId: 'c-1', line: 'helpline' });
  call.info('call started');
  log.child({ callId: 'c-2', line: 'helpline' }).info('another call');
  call.warn('agent did not answer');
  call.debug('a debug line');
  assert.deepEqual(msgs(seen), ['call started', 'agent did not answer', 'a debug line']);
  assert.deepEqual(msgs(warnings), ['agent did not answer']);
  assert.equal(hub.following, 2);

  unfollow();
  call.info('after');
  assert.equal(seen.length, 3, 'an unfollowed follower sees nothing more');
  assert.deepEqual(msgs(hub.recent({ callId: 'c-1' }, 10)), ['agent did not answer', 'a debug line', 'after'], 'the backlog filters too');
});

test('a chunk of several lines is split, and a line that is not JSON still reaches an unfiltered follower', () => {
  const hub = new LogHub(10);
  const seen: string[] = [];
  hub.follow({ filter: {}, send: (l) => seen.push(l) });
  hub.follow({ filter: { line: 'x' }, send: () => assert.fail('a line without fields matches no field filter') });
  hub.write('{"msg":"a"}\n{"msg":"b"}\nnot json\n');
  assert.deepEqual(seen, ['{"msg":"a"}', '{"msg":"b"}', 'not json']);
});
