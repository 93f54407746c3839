/**
 * Runs the retention sweep on the configured cron schedule, one at a time,
 * and keeps the last report for /health. A sweep asked for while one runs
 * (the schedule firing during a long one) joins it instead of starting a
 * second over the same calls.
 */
import { schedule, type ScheduledTask } from 'node-cron';
import type { RetentionConfig } from '../config/types.js';
import type { Logger } from '../ops/log.js';
import type { SweepReport } from './sweep.js';
import { messageOf } from '../errors.js';

export interface RetentionSweeperOptions {
  readonly config: RetentionConfig;
  /** One sweep; the signal aborts when the gateway stops. */
  readonly sweep: (signal: AbortSignal) => Promise<SweepReport>;
  readonly log: Logger;
}

/** What /health shows of the sweeps. */
export interface RetentionView {
  /** The cron expression, or false when the gateway never sweeps. */
  readonly sweep: string | false;
  readonly timeZone?: string;
  readonly running: boolean;
  /** ISO 8601, UTC. */
  readonly nextRun?: string;
  readonly last?: SweepReport;
}

export class RetentionSweeper {
  private readonly abort = new AbortController();
  private readonly task: ScheduledTask | undefined;
  private current: Promise<SweepReport> | undefined;
  private lastReport: SweepReport | undefined;

  constructor(private readonly opts: RetentionSweeperOptions) {
    const { sweep, timeZone } = opts.config;
    if (sweep === false) return;
    const log = opts.log.child({ component: 'retention' });
    this.task = schedule(
      sweep,
      async () => {
        await this.run();
      },
      {
        name: 'retention-sweep',
        ...(timeZone !== undefined ? { timezone: timeZone } : {}),
        // The gateway's sockets keep the process alive, not a nightly timer.
        unref: true,
        logger: {
          info: (m) => log.debug(m),
          warn: (m) => log.warn(m),
          error: (m, err) => log.error({ err: err ?? m }, 'retention schedule error'),
          debug: (m) => log.debug({ detail: m instanceof Error ? m.message : m }, 'retention schedule'),
        },
      },
    );
    log.info({ sweep, timeZone, nextRun: this.task.getNextRun()?.toISOString() }, 'retention sweeps scheduled');
  }

  /** Sweeps now, or joins the sweep already running. Never rejects: a failed sweep is a report with `error`. */
  run(): Promise<SweepReport> {
    this.current ??= this.opts
      .sweep(this.abort.signal)
      .catch((err: unknown): SweepReport => {
        const at = new Date().toISOString();
        this.opts.log.error({ err }, 'retention sweep failed');
        const error = messageOf(err);
        return { startedAt: at, finishedAt: at, examined: 0, deleted: 0, objectsDeleted: 0, held: 0, unreadable: 0, failed: 0, error };
      })
      .then((report) => {
        this.lastReport = report;
        this.current = undefined;
        return report;
      });
    return this.current;
  }

  get view(): RetentionView {
    const next = this.task?.getNextRun();
    return {
      sweep: this.opts.config.sweep,
      ...(this.opts.config.timeZone !== undefined ? { timeZone: this.opts.config.timeZone } : {}),
      running: this.current !== undefined,
      ...(next ? { nextRun: next.toISOString() } : {}),
      ...(this.lastReport ? { last: this.lastReport } : {}),
    };
  }

  /** Stops the schedule and a sweep under way (it ends between two calls), and waits for it. */
  async stop(): Promise<void> {
    await this.task?.destroy();
    this.abort.abort();
    await this.current;
  }
}
