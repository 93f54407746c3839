import { pino, type Logger, type LoggerOptions } from 'pino';
import type { LogHub } from './log-hub.js';

export type { Logger };

/**
 * The one logger of the process. Everything else takes a child of it:
 * `log.child({ callId, line })` per call, `log.child({ component })` per part.
 * Never a line per packet: counters go into the call-ended event instead.
 */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream; hub?: LogHub } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env['RECGW_LOG_LEVEL'] ?? 'info',
    base: { service: 'recgw' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Key material and audio must never reach a log line, even by accident.
    redact: { paths: ['*.key', '*.secret', '*.privateKey', '*.password', '*.token'], censor: '[redacted]' },
  };
  const out = (opts.destination as pino.DestinationStream | undefined) ?? pino.destination(1);
  if (!opts.hub) return pino(options, out);
  // The logger's own level filters; the streams take whatever it writes.
  return pino(options, pino.multistream([{ stream: out, level: 'trace' }, { stream: opts.hub, level: 'trace' }]));
}

/** A logger that drops everything: for unit tests and library use without output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
