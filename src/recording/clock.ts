/**
 * One timer for every capture of the process instead of one per leg: with
 * hundreds of calls, one timer costs far less than hundreds. Each capture is
 * flushed every `intervalMs`, but the captures are spread over several slices
 * of that interval, so the relay never waits behind a flush of every call at
 * once (measured: flushing 1000 legs in one tick doubled the relay's p99).
 * Alignment does not depend on when a flush runs: positions come from the
 * call's clock origin.
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

/** Ticks per interval; each tick flushes one slice of the captures. */
const SLICES = 5;

export class CaptureClock {
  private readonly captures = new Set<Flushable>();
  private readonly slices: Set<Flushable>[] = Array.from({ length: SLICES }, () => new Set());
  private readonly sliceOf = new Map<Flushable, number>();
  private nextSlice = 0;
  private currentSlice = 0;
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
    if (this.captures.has(capture)) return;
    this.captures.add(capture);
    const slice = this.nextSlice;
    this.nextSlice = (this.nextSlice + 1) % SLICES;
    this.slices[slice]?.add(capture);
    this.sliceOf.set(capture, slice);
    if (this.timer) return;
    this.timer = setInterval(() => this.tickSlice(), this.intervalMs / SLICES);
    // Captures are ended by their calls; a pending flush must not keep the process alive.
    this.timer.unref();
  }

  remove(capture: Flushable): void {
    this.captures.delete(capture);
    const slice = this.sliceOf.get(capture);
    if (slice !== undefined) this.slices[slice]?.delete(capture);
    this.sliceOf.delete(capture);
    if (this.captures.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Flushes every registered capture now (tests, and shutdown). */
  tick(): void {
    this.flushAll(this.captures);
  }

  private tickSlice(): void {
    const slice = this.slices[this.currentSlice];
    this.currentSlice = (this.currentSlice + 1) % SLICES;
    if (slice) this.flushAll(slice);
  }

  private flushAll(captures: Iterable<Flushable>): void {
    const now = this.clock.now();
    for (const capture of captures) {
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
