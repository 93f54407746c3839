/**
 * One timer for every capture of the process instead of one per leg: with
 * hundreds of calls, a single ~100 ms tick that flushes each capture in turn
 * costs far less than hundreds of timers, and keeps the legs of a call
 * flushed at the same instant.
 */
import { performance } from 'node:perf_hooks';
import { silentLogger, type Logger } from '../ops/log.js';

/** Milliseconds that never jump back with the wall clock (NTP steps, DST). */
export interface MonotonicClock {
  now(): number;
}

export const performanceClock: MonotonicClock = { now: () => performance.now() };

/** What the clock drives: a LegCapture, or anything else that flushes on the call's clock. */
export interface Flushable {
  flush(nowMs: number): void;
}

export interface CaptureClockOptions {
  /** Default 100 ms: the latency a flush adds on top of the jitter hold-back. */
  readonly intervalMs?: number;
  readonly clock?: MonotonicClock;
  readonly logger?: Logger;
}

export class CaptureClock {
  private readonly captures = new Set<Flushable>();
  private readonly intervalMs: number;
  private readonly clock: MonotonicClock;
  private readonly log: Logger;
  /** Captures whose flush threw once already: logged once, not every tick. */
  private readonly failed = new WeakSet<Flushable>();
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: CaptureClockOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.clock = opts.clock ?? performanceClock;
    this.log = opts.logger ?? silentLogger();
  }

  /** Whether the timer runs: only while some capture is registered. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  get size(): number {
    return this.captures.size;
  }

  add(capture: Flushable): void {
    this.captures.add(capture);
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // Captures are ended by their calls; a pending flush must not keep the process alive.
    this.timer.unref();
  }

  remove(capture: Flushable): void {
    this.captures.delete(capture);
    if (this.captures.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Flushes every registered capture now; the timer calls it, tests may too. */
  tick(): void {
    const now = this.clock.now();
    for (const capture of this.captures) {
      try {
        capture.flush(now);
      } catch (err) {
        // One broken sink must not stop the other calls' recordings.
        if (!this.failed.has(capture)) this.log.error({ err }, 'capture flush failed');
        this.failed.add(capture);
      }
    }
  }
}
