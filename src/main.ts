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
import { healthOf } from './ops/health.js';

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
  // What can fail on bad local state (a token file, the audit log) is read before any socket opens.
  const token = config.control.enabled ? await loadControlToken(config.control) : undefined;
  const audit = await AuditLog.open(config.audit.file);
  const opened: (() => Promise<void>)[] = [() => audit.close()];
  const unwind = async (): Promise<void> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };
  let gateway: Gateway;
  let engine: SipEngine;
  let pipeline: RecordingPipeline | undefined;
  let control: ControlServer | undefined;
  try {
    pipeline = opts.writer ? undefined : await startRecordingPipeline(config, opts.log);
    const started = pipeline;
    if (started) opened.push(() => started.stop());
    const writer = opts.writer ?? pipeline?.writer;
    if (!writer) throw new Error('no segment writer');
    engine = new EmbeddedSipEngine({
      listen: config.sip.listen,
      port: config.sip.port,
      transports: config.sip.transports,
      publicAddress: config.sip.publicAddress,
      timers: config.sip.timers,
      logger: opts.log.child({ component: 'sip' }),
    });
    gateway = new Gateway(config, engine, writer, opts.log, {
      audit,
      ...(pipeline ? { canRecord: pipeline.canRecord, discard: pipeline.discard } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    const g = gateway;
    opened.push(() => g.stop());
    await gateway.start();
    if (token) {
      control = await startControlServer({
        listen: config.control.listen,
        port: config.control.port,
        token: token.token,
        control: new GatewayControl(gateway.activeCalls),
        health: () => healthOf({ gateway: g, ...(pipeline ? { spool: pipeline.spool, uploader: pipeline.uploader } : {}) }),
        audit,
        log: opts.log,
      });
      opts.log.info({ address: control.address, port: control.port, tokenFile: token.file, tokenCreated: token.created }, 'control API listening');
    }
  } catch (err) {
    // A half-started gateway must not keep its ports, spool or audit log open.
    await unwind();
    throw err;
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
