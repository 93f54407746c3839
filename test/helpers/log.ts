/**
 * A real pino logger whose lines a test can read back: the gateway's, the
 * control server's, the uploader's.
 */
import { Writable } from 'node:stream';
import type { LogHub } from '../../src/ops/log-hub.js';
import { createLogger, type Logger } from '../../src/ops/log.js';

export interface CapturedLog {
  readonly logger: Logger;
  /** The lines kept, as written (one JSON object each). */
  readonly lines: () => string[];
  /** The lines kept, parsed. */
  readonly entries: () => Record<string, unknown>[];
}

/** Keeps every line, or the last `keep`; passes each on to `echo` too when given. */
export function captureLog(opts: { level?: string; keep?: number; echo?: NodeJS.WritableStream; hub?: LogHub } = {}): CapturedLog {
  const kept: string[] = [];
  const keep = opts.keep ?? Infinity;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      opts.echo?.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        kept.push(line);
        if (kept.length > keep) kept.shift();
      }
      done();
    },
  });
  return {
    logger: createLogger({ level: opts.level ?? 'info', destination, ...(opts.hub ? { hub: opts.hub } : {}) }),
    lines: () => [...kept],
    entries: () => kept.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
