/**
 * Exponential backoff with full jitter: the wait before retry n is uniform in
 * [0, min(maxMs, initialMs * 2^(n-1))]. Full jitter spreads the retries of many
 * entries that failed together (the store went down for all of them), so they
 * do not come back in one burst when it returns.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 500, maxMs: 60_000 });

/** The upper bound of the wait after the `attempt`-th consecutive failure (1-based). */
export function backoffCeiling(attempt: number, opts: BackoffOptions): number {
  // Capping the exponent keeps 2^n finite however long the store stays down.
  const exp = Math.min(Math.max(attempt, 1) - 1, 40);
  return Math.min(opts.maxMs, opts.initialMs * 2 ** exp);
}

/** The wait after the `attempt`-th consecutive failure; `random` in [0, 1) is injectable for tests. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}
