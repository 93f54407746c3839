/**
 * Composition root: the only module that knows every layer. It builds the SIP
 * engine, the segment writer, the retention sweeps and the gateway from a
 * validated config.
 */
import { hostname } from 'node:os';
import { AuditLog } from './access/audit.js';
import { AuditShipper } from './access/audit-shipper.js';
import type { GatewayConfig } from './config/types.js';
import { GatewayControl } from './call/control.js';
import { Gateway } from './call/gateway.js';
import { startControlServer, type ControlServer, type ControlStats } from './control/server.js';
import type { HealthView } from './control/types.js';
import { loadClientTokens, loadControlToken } from './control/token.js';
import type { LogHub } from './ops/log-hub.js';
import type { Logger } from './ops/log.js';
import { startRecordingPipeline, type RecordingPipeline } from './recording/pipeline.js';
import type { SegmentWriter } from './recording/writer.js';
import { EmbeddedSipEngine } from './sip/embedded/engine.js';
import type { SipEngine } from './sip/engine.js';
import { healthOf } from './ops/health.js';
import { metricsText, processFigures } from './ops/metrics.js';
import { packageVersion } from './ops/version.js';
import { keySafe } from './recording/layout.js';
import { Holds } from './retention/holds.js';
import { legalHoldOnUpload, RetentionService } from './retention/service.js';
import { sweepExpired } from './retention/sweep.js';
import { RetentionSweeper } from './retention/sweeper.js';

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly engine: SipEngine;
  readonly pipeline?: RecordingPipeline;
  readonly control?: ControlServer;
  /** The retention sweeps; absent when a test's writer stands in for the pipeline. */
  readonly retention?: RetentionSweeper;
  readonly audit: AuditLog;
  /**
   * Stops the gateway. With `drainMs`, it first drains (Gateway.drain): new
   * calls are refused while the calls up carry on, for up to `drainMs` or
   * until `signal` aborts; the control API keeps answering meanwhile. Then
   * every call still up is ended. Later calls return the first one's promise.
   */
  stop(opts?: { readonly drainMs?: number; readonly signal?: AbortSignal }): Promise<void>;
}

export interface StartOptions {
  readonly log: Logger;
  readonly writer?: SegmentWriter;
  /** What the logger also writes to, for the control API's live tail (`/logs`). */
  readonly logHub?: LogHub;
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
  const clients = config.control.enabled ? await loadClientTokens(config.control, token?.token ?? '') : [];
  const audit = await AuditLog.open(config.audit.file);
  const opened: (() => Promise<void>)[] = [() => audit.close()];
  const unwind = async (): Promise<void> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };
  let gateway: Gateway;
  let engine: SipEngine;
  let pipeline: RecordingPipeline | undefined;
  let control: ControlServer | undefined;
  let retention: { readonly sweeper: RetentionSweeper; readonly service: RetentionService } | undefined;
  let auditShipper: AuditShipper | undefined;
  try {
    pipeline = opts.writer ? undefined : await startRecordingPipeline(config, opts.log);
    const started = pipeline;
    if (started) opened.push(() => started.stop());
    if (pipeline) {
      const { store } = pipeline;
      const shipper = new AuditShipper({ store, file: audit.file, host: hostname(), log: opts.log.child({ component: 'audit' }) });
      await shipper.start();
      opened.push(() => shipper.stop());
      auditShipper = shipper;
      const holds = new Holds(store);
      const sweeper = new RetentionSweeper({
        config: config.retention,
        sweep: (signal) => sweepExpired({ store, holds, audit, log: opts.log, signal, ...(opts.now ? { now: opts.now } : {}) }),
        log: opts.log,
      });
      opened.push(() => sweeper.stop());
      const { spool } = pipeline;
      const service = new RetentionService({
        store,
        holds,
        sweep: () => sweeper.run(),
        // The gateway is made below; nothing asks before the control API is up.
        isActive: (callId) => [...gateway.activeCalls.keys()].some((id) => keySafe(id) === keySafe(callId)),
        pendingInSpool: (callId) => spool.entries().filter((e) => keySafe(e.meta.callId) === keySafe(callId)).length,
        ...(opts.now ? { now: opts.now } : {}),
      });
      retention = { sweeper, service };
      if (config.storage.kind === 's3' && config.storage.objectLock) pipeline.uploader.on('uploaded', legalHoldOnUpload(store, holds, opts.log));
    }
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
      const sip = engine;
      const health = (stats: Readonly<ControlStats>): HealthView =>
        healthOf({
          gateway: g,
          engine: sip,
          control: { stats },
          ...(pipeline ? { spool: pipeline.spool, uploader: pipeline.uploader } : {}),
          ...(retention ? { retention: retention.sweeper } : {}),
          ...(auditShipper ? { audit: { log: audit, shipper: auditShipper } } : {}),
        });
      const version = packageVersion();
      control = await startControlServer({
        listen: config.control.listen,
        port: config.control.port,
        token: token.token,
        clients,
        control: new GatewayControl(gateway.activeCalls),
        health,
        metrics: (stats) => metricsText(health(stats), processFigures(version)),
        ...(retention ? { retention: retention.service } : {}),
        ...(opts.logHub ? { logs: opts.logHub } : {}),
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
    ...(retention ? { retention: retention.sweeper } : {}),
    audit,
    stop: (opts = {}) =>
      (stopping ??= (async () => {
        if (opts.drainMs !== undefined && opts.drainMs > 0) await gateway.drain(opts.drainMs, opts.signal);
        await control?.close();
        // A sweep under way ends between two calls; it must not delete while the store is being closed.
        await retention?.sweeper.stop();
        await gateway.stop();
        // Every record is written by now: the copy in the store is made whole before the store is let go.
        await auditShipper?.stop();
        await pipeline?.stop();
        await audit.close();
      })()),
  };
}
