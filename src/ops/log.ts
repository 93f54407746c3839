import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * The one logger of the process. Everything else takes a child of it:
 * `log.child({ callId, line })` per call, `log.child({ component })` per part.
 * Never a line per packet: counters go into the call-ended event instead.
 */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env['RECGW_LOG_LEVEL'] ?? 'info',
    base: { service: 'recgw' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Key material and audio must never reach a log line, even by accident.
    redact: { paths: ['*.key', '*.secret', '*.privateKey', '*.password', '*.token'], censor: '[redacted]' },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

/** A logger that drops everything: for unit tests and library use without output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
