/**
 * `recgw start`: load and validate the config once, start the gateway, and on
 * SIGTERM or SIGINT drain it (new calls refused, the calls up carry on for up
 * to `shutdown.drainSeconds`), then stop it cleanly: every call still up ended
 * with BYE, every capture closed. A second signal ends the drain at once.
 */
import { loadCommandConfig } from '../config/load.js';
import { startGateway } from '../main.js';
import { LogHub } from '../ops/log-hub.js';
import { createLogger } from '../ops/log.js';

/**
 * A Ctrl-C under `npm start` arrives twice: from the terminal, and forwarded
 * by npm. A second signal this soon after the first is that echo, not a
 * second request.
 */
const SECOND_SIGNAL_AFTER_MS = 1000;

export async function runStart(opts: { readonly configFile: string | undefined }): Promise<number> {
  const config = loadCommandConfig(opts.configFile);
  const logHub = new LogHub();
  const log = createLogger({ level: config.log.level, hub: logHub });
  const running = await startGateway(config, { log, logHub });

  return new Promise<number>((resolve) => {
    const cutShort = new AbortController();
    let firstSignalAt: number | undefined;
    const stop = (signal: NodeJS.Signals): void => {
      if (firstSignalAt !== undefined) {
        if (Date.now() - firstSignalAt < SECOND_SIGNAL_AFTER_MS || cutShort.signal.aborted) return;
        log.warn({ signal, calls: running.gateway.activeCalls.size }, 'second signal: ending the calls still up now');
        cutShort.abort();
        return;
      }
      firstSignalAt = Date.now();
      const { drainSeconds } = config.shutdown;
      log.info({ signal, drainSeconds, calls: running.gateway.activeCalls.size }, 'stopping');
      running.stop({ drainMs: drainSeconds * 1000, signal: cutShort.signal }).then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
