/**
 * The live tail of the gateway's log: every line the logger writes is also
 * handed to whoever follows it (the control API's `/logs`, `recgw logs`), and
 * the last lines are kept so a new follower starts with some context.
 *
 * The logger writes here synchronously, so this must never block or grow
 * without bound: a line is offered to each follower, who drops what it cannot
 * send (see control/logs.ts), and the backlog is a fixed ring.
 */

/** What a follower asks for; each given field must match. */
export interface LogFilter {
  readonly callId?: string;
  readonly line?: string;
  /** Minimum pino level (30 info, 40 warn, 50 error). */
  readonly minLevel?: number;
}

export interface LogFollower {
  readonly filter: LogFilter;
  /** One log line, without its newline. */
  send(line: string): void;
}

/** The fields a filter looks at, read once per line and only when someone follows. */
interface LineFields {
  readonly callId?: unknown;
  readonly line?: unknown;
  readonly level?: unknown;
}

export function matches(filter: LogFilter, fields: LineFields): boolean {
  if (filter.callId !== undefined && fields.callId !== filter.callId) return false;
  if (filter.line !== undefined && fields.line !== filter.line) return false;
  if (filter.minLevel !== undefined && !(typeof fields.level === 'number' && fields.level >= filter.minLevel)) return false;
  return true;
}

function fieldsOf(line: string): LineFields {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null ? v : {};
  } catch {
    return {};
  }
}

export class LogHub {
  private readonly ring: string[] = [];
  private next = 0;
  private readonly followers = new Set<LogFollower>();

  /** `backlog`: how many of the last lines a new follower may ask for. */
  constructor(readonly backlog = 500) {}

  /** pino's destination: one or more whole lines per call. */
  write(chunk: string): boolean {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      if (nl > start) this.add(chunk.slice(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.slice(start));
    return true;
  }

  private add(line: string): void {
    if (this.backlog > 0) {
      if (this.ring.length < this.backlog) this.ring.push(line);
      else this.ring[this.next] = line;
      this.next = (this.next + 1) % this.backlog;
    }
    if (this.followers.size === 0) return;
    const fields = fieldsOf(line);
    for (const f of this.followers) if (matches(f.filter, fields)) f.send(line);
  }

  /** The last `n` kept lines that match, oldest first. */
  recent(filter: LogFilter, n: number): string[] {
    const ordered = this.ring.length < this.backlog ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const found: string[] = [];
    for (let i = ordered.length - 1; i >= 0 && found.length < n; i--) {
      const line = ordered[i] as string;
      if (matches(filter, fieldsOf(line))) found.push(line);
    }
    return found.reverse();
  }

  /** Returns the unfollow function. */
  follow(follower: LogFollower): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  get following(): number {
    return this.followers.size;
  }
}
