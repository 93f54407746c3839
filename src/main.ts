/**
 * Composition root: the only module that knows every layer. It builds the SIP
 * engine, the segment writer and the gateway from a validated config.
 */
import type { GatewayConfig } from './config/types.js';
import { Gateway } from './call/gateway.js';
import type { Logger } from './ops/log.js';
import { startRecordingPipeline, type RecordingPipeline } from './recording/pipeline.js';
import type { SegmentWriter } from './recording/writer.js';
import { EmbeddedSipEngine } from './sip/embedded/engine.js';
import type { SipEngine } from './sip/engine.js';

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly engine: SipEngine;
  readonly pipeline?: RecordingPipeline;
  stop(): Promise<void>;
}

/**
 * Starts the gateway. Without a `writer`, recordings go through the full
 * pipeline (encrypt, spool, upload to the configured store); tests and the
 * benchmark pass a writer of their own.
 */
export async function startGateway(config: GatewayConfig, opts: { readonly log: Logger; readonly writer?: SegmentWriter }): Promise<RunningGateway> {
  const pipeline = opts.writer ? undefined : await startRecordingPipeline(config, opts.log);
  const writer = opts.writer ?? pipeline?.writer;
  if (!writer) throw new Error('no segment writer');
  const engine = new EmbeddedSipEngine({
    listen: config.sip.listen,
    port: config.sip.port,
    transports: config.sip.transports,
    publicAddress: config.sip.publicAddress,
    timers: config.sip.timers,
    logger: opts.log.child({ component: 'sip' }),
  });
  const gateway = new Gateway(config, engine, writer, opts.log, pipeline ? { canRecord: pipeline.canRecord } : {});
  await gateway.start();
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    engine,
    ...(pipeline ? { pipeline } : {}),
    stop: () =>
      (stopping ??= (async () => {
        await gateway.stop();
        await pipeline?.stop();
      })()),
  };
}
