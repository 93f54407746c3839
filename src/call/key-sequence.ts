/**
 * Matches key sequences (the agent's pause key `*7`, resume `*8`) in the
 * digits of a leg, whichever way they came. Keys further apart than
 * `gapMs` start a new sequence, so a stray `*` long ago plus a `7` now is
 * not a pause.
 */
export interface KeyAction {
  readonly keys: string;
  readonly action: () => void;
}

const DEFAULT_GAP_MS = 3000;

export class KeySequence {
  private typed = '';
  private last = -Infinity;
  private readonly longest: number;

  constructor(
    private readonly actions: readonly KeyAction[],
    private readonly gapMs = DEFAULT_GAP_MS,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.longest = Math.max(0, ...actions.map((a) => a.keys.length));
  }

  push(digit: string): void {
    const t = this.now();
    if (t - this.last > this.gapMs) this.typed = '';
    this.last = t;
    this.typed = (this.typed + digit).slice(-this.longest);
    for (const a of this.actions) {
      if (this.typed.endsWith(a.keys)) {
        this.typed = '';
        a.action();
        return;
      }
    }
  }
}
