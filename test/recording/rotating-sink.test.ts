/** A leg cut into segments: contiguous on the call's clock, and every one filed in the call's folder. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecordingKey } from '../../src/recording/layout.js';
import { MemorySegmentWriter } from '../../src/recording/memory-writer.js';
import { RotatingSink } from '../../src/recording/rotating-sink.js';
import type { SegmentInfo } from '../../src/recording/writer.js';

const SECOND = 8000;

test('a call that runs past midnight keeps every segment in the folder of the day it started, each segment with its own start', async () => {
  const writer = new MemorySegmentWriter();
  const callStartedAt = new Date('2026-12-07T23:59:58.000Z');
  const first: SegmentInfo = { callId: 'c1', leg: 'caller', segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt: callStartedAt, callStartedAt, line: 'helpline', direction: 'inbound' };
  const sink = new RotatingSink(writer, first, 2 * SECOND);
  sink.write(Buffer.alloc(5 * SECOND, 0xd5)); // segments 1 and 2 full, 3 open: 2 and 3 start after midnight
  sink.split('agent9'); // a transfer after midnight opens segment 4
  sink.write(Buffer.alloc(SECOND, 0xd5));
  await sink.close();

  assert.deepEqual(sink.segments.map((s) => s.info.startedAt.toISOString()), [
    '2026-12-07T23:59:58.000Z',
    '2026-12-08T00:00:00.000Z',
    '2026-12-08T00:00:02.000Z',
    '2026-12-08T00:00:03.000Z',
  ]);
  assert.deepEqual(sink.segments.map((s) => s.key), [1, 2, 3, 4].map((n) => `helpline/2026/12/07/c1/caller-${n}.rec`));
  assert.deepEqual(new Set(sink.segments.map((s) => parseRecordingKey(s.key)?.prefix)), new Set(['helpline/2026/12/07/c1/']));
  assert.equal(sink.segments[3]?.info.operator, 'agent9');
  assert.deepEqual(writer.segments.map((s) => s.length), [2 * SECOND, 2 * SECOND, SECOND, SECOND]);
});
