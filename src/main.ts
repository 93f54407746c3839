/**
 * Composition root: the only module that knows every layer. It builds the SIP
 * engine, the segment writer and the gateway from a validated config.
 */
import { AuditLog } from './access/audit.js';
import type { GatewayConfig } from './config/types.js';
import { GatewayControl } from './call/control.js';
import { Gateway } from './call/gateway.js';
import { startControlServer, type ControlServer } from './control/server.js';
import { loadControlToken } from './control/token.js';
import type { Logger } from './ops/log.js';
import { startRecordingPipeline, type RecordingPipeline } from './recording/pipeline.js';
import type { SegmentWriter } from './recording/writer.js';
import { EmbeddedSipEngine } from './sip/embedded/engine.js';
import type { SipEngine } from './sip/engine.js';

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly engine: SipEngine;
  readonly pipeline?: RecordingPipeline;
  readonly control?: ControlServer;
  readonly audit: AuditLog;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly log: Logger;
  readonly writer?: SegmentWriter;
  /** The wall clock schedules are read by; tests set it. */
  readonly now?: (this: void) => Date;
}

/**
 * Starts the gateway. Without a `writer`, recordings go through the full
 * pipeline (encrypt, spool, upload to the configured store); tests and the
 * benchmark pass a writer of their own.
 */
export async function startGateway(config: GatewayConfig, opts: StartOptions): Promise<RunningGateway> {
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
  const audit = await AuditLog.open(config.audit.file);
  const gateway = new Gateway(config, engine, writer, opts.log, {
    audit,
    ...(pipeline ? { canRecord: pipeline.canRecord, discard: pipeline.discard } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  await gateway.start();
  let control: ControlServer | undefined;
  if (config.control.enabled) {
    const token = await loadControlToken(config.control);
    control = await startControlServer({
      listen: config.control.listen,
      port: config.control.port,
      token: token.token,
      control: new GatewayControl(gateway.activeCalls),
      audit,
      log: opts.log,
    });
    opts.log.info({ address: control.address, port: control.port, tokenFile: token.file, tokenCreated: token.created }, 'control API listening');
  }
  let stopping: Promise<void> | undefined;
  return {
    gateway,
    engine,
    ...(pipeline ? { pipeline } : {}),
    ...(control ? { control } : {}),
    audit,
    stop: () =>
      (stopping ??= (async () => {
        await control?.close();
        await gateway.stop();
        await pipeline?.stop();
        await audit.close();
      })()),
  };
}
