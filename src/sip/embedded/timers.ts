/** RFC 3261 §17 timer values, derived from T1/T2/T4 so tests can shrink them all at once. */
export interface TimerValues {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
}

export const DEFAULT_TIMERS: TimerValues = { t1: 500, t2: 4000, t4: 5000 };

/** 64*T1: Timers B, F, H, J, L, M; also Timer D, which RFC 3261 fixes at 32 s (= 64*T1 at the default T1). */
export function transactionTimeout(t: TimerValues): number {
  return 64 * t.t1;
}

/** Named one-shot timers owned by one transaction or dialog; clearAll() on termination. */
export class TimerSet {
  private readonly handles = new Map<string, NodeJS.Timeout>();

  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    this.handles.set(
      name,
      setTimeout(() => {
        this.handles.delete(name);
        fn();
      }, ms),
    );
  }

  clear(name: string): void {
    const h = this.handles.get(name);
    if (h !== undefined) clearTimeout(h);
    this.handles.delete(name);
  }

  clearAll(): void {
    for (const h of this.handles.values()) clearTimeout(h);
    this.handles.clear();
  }

  get size(): number {
    return this.handles.size;
  }
}
