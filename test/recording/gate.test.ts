import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureGate } from '../../src/recording/gate.js';

const startedAt = new Date('2026-11-23T10:00:00.000Z');

function gate(opts: Partial<ConstructorParameters<typeof CaptureGate>[0]> = {}): CaptureGate {
  return new CaptureGate({ startedAt, holdbackSamples: 9600, redactDtmf: true, dtmfQuietMs: 2000, ...opts });
}

/** The spans the gate silences inside [from, to). */
function spans(g: CaptureGate, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  g.redact(from, to, (a, b) => out.push([a, b]));
  return out;
}

test('a pause cuts from the oldest unwritten sample; a resume ends the window at the live position', () => {
  const g = gate();
  assert.equal(g.state, 'recording');
  assert.equal(g.pause(80_000, 'api', 'jsmith'), true);
  assert.equal(g.state, 'paused');
  assert.equal(g.pause(81_000, 'api', 'someone else'), false, 'a second pause changes nothing');
  assert.deepEqual(spans(g, 0, 200_000), [[80_000 - 9600, 200_000]], 'open window: everything after its start');
  assert.equal(g.resume(120_000), true);
  assert.equal(g.resume(121_000), false);
  assert.equal(g.state, 'recording');
  assert.deepEqual(spans(g, 0, 200_000), [[70_400, 120_000]]);
  assert.deepEqual(spans(g, 0, 70_400), []);
  assert.deepEqual(spans(g, 110_000, 130_000), [[110_000, 120_000]]);
  assert.deepEqual(g.pausedWindows(), [{ start: '2026-11-23T10:00:08.800Z', end: '2026-11-23T10:00:15.000Z', trigger: 'api', by: 'jsmith' }]);
});

test('a pause at the very start of a call never reaches before sample 0', () => {
  const g = gate();
  g.pause(100, 'keys', 'agent');
  assert.deepEqual(spans(g, 0, 1000), [[0, 1000]]);
});

test('tones in one run make one dtmf window that closes a quiet time after the last digit', () => {
  const g = gate({ dtmfQuietMs: 1000 });
  g.tone(8000, 8800, 'rfc4733', 'caller');
  g.tone(10_000, 10_800, 'rfc4733', 'caller'); // 150 ms after the first ended: same run
  g.tone(10_000, 11_200, 'rfc4733', 'caller'); // the same key, still held: the end grows
  const margin = 320;
  assert.deepEqual(spans(g, 0, 100_000), [[8000 - margin, 11_200 + margin + 8000]]);
  g.tone(40_000, 40_800, 'inband', 'agent'); // long after: a second run
  assert.equal(g.pausedWindows().length, 2);
  assert.deepEqual(
    g.pausedWindows().map((w) => [w.trigger, w.by]),
    [['dtmf-rfc4733', 'caller'], ['dtmf-inband', 'agent']],
  );
  assert.equal(g.state, 'recording', 'dtmf windows are not a manual pause');
});

test('a line that does not redact DTMF opens no window for tones', () => {
  const g = gate({ redactDtmf: false });
  g.tone(8000, 8800, 'inband', 'caller');
  assert.deepEqual(spans(g, 0, 100_000), []);
});

test('stop closes an open pause and ends the state machine', () => {
  const g = gate();
  g.pause(50_000, 'api', 'a');
  assert.equal(g.stop(60_000), true);
  assert.equal(g.state, 'stopped');
  assert.equal(g.stop(70_000), false);
  assert.equal(g.pause(80_000, 'api', 'a'), false);
  // The pause's window, and everything from the stop on (a late packet's audio must not outlive it).
  assert.deepEqual(spans(g, 0, 100_000), [[60_000, 100_000], [40_400, 60_000]]);
  assert.deepEqual(spans(g, 0, 50_000), [[40_400, 50_000]]);
});

test('a pause without lookback starts at the live position', () => {
  const g = gate();
  g.pause(50_000, 'transfer', 'agent1001', { lookback: false });
  g.resume(60_000);
  assert.deepEqual(spans(g, 0, 100_000), [[50_000, 60_000]]);
});
