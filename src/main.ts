/**
 * Composition root: the only module that knows every layer. It builds the SIP
 * engine, the segment writer and the gateway from a validated config.
 */
import type { GatewayConfig } from './config/types.js';
import { Gateway } from './call/gateway.js';
import type { Logger } from './ops/log.js';
import type { SegmentWriter } from './recording/writer.js';
import { EmbeddedSipEngine } from './sip/embedded/engine.js';
import type { SipEngine } from './sip/engine.js';

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly engine: SipEngine;
  stop(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, opts: { readonly log: Logger; readonly writer: SegmentWriter }): Promise<RunningGateway> {
  const engine = new EmbeddedSipEngine({
    listen: config.sip.listen,
    port: config.sip.port,
    transports: config.sip.transports,
    publicAddress: config.sip.publicAddress,
    timers: config.sip.timers,
    logger: opts.log.child({ component: 'sip' }),
  });
  const gateway = new Gateway(config, engine, opts.writer, opts.log);
  await gateway.start();
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    engine,
    stop: () => (stopping ??= gateway.stop()),
  };
}
