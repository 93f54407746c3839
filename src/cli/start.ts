/**
 * `recgw start`: load and validate the config once, start the gateway, stop it
 * cleanly (every call ended with BYE, every capture closed) on SIGINT/SIGTERM.
 */
import { loadCommandConfig } from '../config/load.js';
import { startGateway } from '../main.js';
import { LogHub } from '../ops/log-hub.js';
import { createLogger } from '../ops/log.js';

export async function runStart(opts: { readonly configFile: string | undefined }): Promise<number> {
  const config = loadCommandConfig(opts.configFile);
  const logHub = new LogHub();
  const log = createLogger({ level: config.log.level, hub: logHub });
  const running = await startGateway(config, { log, logHub });

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'stopping');
      running.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
