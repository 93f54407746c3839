import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecgwError } from '../../src/errors.js';
import { MemorySegmentWriter } from '../../src/recording/memory-writer.js';
import type { SegmentInfo } from '../../src/recording/writer.js';

const info = (callId: string, leg: 'caller' | 'agent'): SegmentInfo => ({
  callId, leg, segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt: new Date(0), callStartedAt: new Date(0), line: 'helpline', direction: 'inbound',
});

test('the memory writer copies what it is given, in order, and knows when a segment is closed', async () => {
  const writer = new MemorySegmentWriter();
  const sink = writer.open(info('a', 'caller'));
  const reused = Buffer.alloc(6000, 1);
  sink.write(reused);
  reused.fill(2); // the caller reuses its buffer: what was written must not change
  sink.write(reused);
  sink.write(Buffer.alloc(0));
  const segment = writer.segments[0];
  assert.ok(segment);
  assert.equal(segment.length, 12000);
  assert.deepEqual(segment.audio(), Buffer.concat([Buffer.alloc(6000, 1), Buffer.alloc(6000, 2)]));
  assert.equal(segment.closed, false);
  await sink.close();
  await sink.close();
  assert.equal(segment.closed, true);
  assert.throws(() => sink.write(Buffer.alloc(1)), (e: unknown) => e instanceof RecgwError && e.code === 'SEGMENT_CLOSED');
});

test('release() forgets one call\'s segments and keeps the others', () => {
  const writer = new MemorySegmentWriter();
  writer.open(info('a', 'caller'));
  writer.open(info('b', 'caller'));
  writer.open(info('a', 'agent'));
  writer.release('a');
  assert.deepEqual(writer.segments.map((s) => s.info.callId), ['b']);
});
