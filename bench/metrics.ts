/**
 * What a monitoring scrape costs the gateway's main thread (the one that
 * relays every packet) as calls grow: the health view built from the
 * counters of N calls' legs and captures, then written out as the Prometheus
 * text (GET /metrics). Beside it, in the same run, the same view written out
 * as JSON (GET /health), the cost the gateway already paid before /metrics.
 * Nothing of either runs per packet; this is what one scrape takes.
 */
import { addLeg, noMedia } from '../src/call/media-totals.js';
import type { LegCounters } from '../src/media/leg.js';
import { healthOf } from '../src/ops/health.js';
import { metricsText, processFigures } from '../src/ops/metrics.js';
import type { CaptureCounters } from '../src/recording/capture.js';

export interface ScrapeFigures {
  readonly calls: number;
  /** Microseconds per scrape. */
  readonly metricsUs: number;
  readonly healthUs: number;
}

const leg = (i: number): LegCounters => ({ received: i, accepted: i, droppedSource: 1, malformed: 0, relayed: i, sent: i, rtcpReceived: 3, rtcpRelayed: 3 });
const capture = (i: number): CaptureCounters => ({ packets: i, late: 0, duplicate: 0, foreignPayload: 0, samplesWritten: i * 160, silenceSamples: 0, reanchors: 0, sinkErrors: 0, redactedSamples: 0, toneEvents: 0, inbandTones: 0 });

function timeUs(rounds: number, fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / rounds;
}

export function measureScrape(calls: number): ScrapeFigures {
  // Each live call: two legs and their captures, as Gateway.media reads them per scrape.
  const live = Array.from({ length: calls }, (_, i) => ({ legs: [leg(1000 + i), leg(2000 + i)], captures: [capture(1000 + i), capture(2000 + i)] }));
  const lines = new Map(Array.from({ length: 20 }, (_, i) => [`line-${i}`, { complete: i * 10, incomplete: 0, unrecorded: i }]));
  const stats = { recordingUnavailable: 0, rejectedNotTrunk: 0, rejectedNoLine: 0, callsStarted: calls, callsEnded: 0, recordingsIncomplete: 0, refusedDraining: 0 };
  const view = () =>
    healthOf({
      gateway: {
        stats,
        activeCalls: new Map(live.map((c, i) => [String(i), c])),
        get media() {
          const totals = noMedia();
          for (const c of live) for (let j = 0; j < 2; j++) addLeg(totals, c.legs[j] ?? leg(0), c.captures[j]);
          return totals;
        },
        lineCalls: lines,
      },
      engine: { stats: { received: 9, malformed: 1, rejected400: 1, dropped: 0, dialogs: calls * 2, transactions: 0 } },
      control: { stats: { requests: 10, unauthorized: 0, auditFailures: 0 } },
    });
  const rounds = 2000;
  const metricsUs = timeUs(rounds, () => metricsText(view(), processFigures('bench')));
  const healthUs = timeUs(rounds, () => JSON.stringify(view()));
  return { calls, metricsUs, healthUs };
}
