import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LegCapture } from '../../src/recording/capture.js';
import { CaptureClock, type Flushable } from '../../src/recording/clock.js';
import { MemorySegmentWriter } from '../../src/recording/memory-writer.js';

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the clock flushes registered captures on its own timer, and stops when none is left', async () => {
  const clock = new CaptureClock({ intervalMs: 5 });
  const writer = new MemorySegmentWriter();
  const sink = writer.open({ callId: 'c', leg: 'agent', segment: 1, codec: 'PCMU', sampleRate: 8000, startedAt: new Date(), callStartedAt: new Date(), line: 'l', direction: 'inbound' });
  const capture = new LegCapture({ sink, codec: 'PCMU', payloadType: 0, t0: performance.now(), jitterMs: 20 });
  assert.equal(clock.running, false);
  clock.add(capture);
  assert.equal(clock.running, true);
  await until('audio flushed to the sink', () => (writer.segments[0]?.length ?? 0) > 0);
  clock.remove(capture);
  assert.equal(clock.running, false, 'no capture, no timer');
  const written = capture.counters.samplesWritten;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(capture.counters.samplesWritten, written, 'a removed capture is not flushed again');
  await capture.stop();
});

test('one capture that throws does not stop the others, and the clock passes its own time', async () => {
  let now = 1000;
  const clock = new CaptureClock({ intervalMs: 5, clock: { now: () => (now += 10) } });
  const seen: number[] = [];
  const broken: Flushable = {
    flush: () => {
      throw new Error('sink gone');
    },
  };
  const healthy: Flushable = { flush: (t) => void seen.push(t) };
  clock.add(broken);
  clock.add(healthy);
  await until('several ticks', () => seen.length >= 3);
  clock.remove(broken);
  clock.remove(healthy);
  assert.equal(clock.running, false);
  assert.ok(seen.every((t, i) => i === 0 || t > (seen[i - 1] ?? 0)), 'times from the given clock, increasing');
  assert.ok((seen[0] ?? 0) > 1000);
});
