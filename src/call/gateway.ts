/**
 * The gateway: takes every new INVITE from the SIP engine, refuses what comes
 * from no trunk (403) or dials no line (404), and runs a Call for the rest.
 * Announcements are transcoded once, here, at start-up, never per call.
 */
import type { GatewayConfig, LineConfig } from '../config/types.js';
import { BUILTIN_ANNOUNCEMENT, loadAnnouncement, type Announcement } from '../media/announcement.js';
import { Pacer } from '../media/player.js';
import { PortAllocator } from '../media/ports.js';
import { TypedEmitter } from '../ops/emitter.js';
import type { Logger } from '../ops/log.js';
import { CaptureClock } from '../recording/clock.js';
import type { SegmentWriter } from '../recording/writer.js';
import type { SipEngine, SipRequest, SipResponse } from '../sip/engine.js';
import type { AnnouncementSet } from './announce.js';
import { Call } from './call.js';
import type { CallDeps } from './deps.js';
import { Router } from './router.js';
import type { CallSummary } from './summary.js';

export interface GatewayEvents {
  'call-started': (call: Call) => void;
  'call-ended': (summary: CallSummary) => void;
}

export interface GatewayOptions {
  /** False while recordings cannot be kept (spool full); lines then apply onRecordingFailure. */
  readonly canRecord?: (this: void) => boolean;
}

export interface GatewayStats {
  /** Calls to recorded lines refused (503) or carried unrecorded because recording was unavailable. */
  recordingUnavailable: number;
  /** INVITEs refused because they came from no trunk address. */
  rejectedNotTrunk: number;
  /** INVITEs refused because they dialled no line. */
  rejectedNoLine: number;
  callsStarted: number;
  callsEnded: number;
}

export class Gateway extends TypedEmitter<GatewayEvents> {
  readonly allocator: PortAllocator;
  readonly stats: GatewayStats = { recordingUnavailable: 0, rejectedNotTrunk: 0, rejectedNoLine: 0, callsStarted: 0, callsEnded: 0 };
  private readonly calls = new Map<string, Call>();
  private readonly router: Router;
  private readonly announcements = new Map<string, AnnouncementSet>();
  private readonly deps: CallDeps;
  private readonly captureClock = new CaptureClock();
  private lastRefusalLog = 0;

  constructor(
    private readonly config: GatewayConfig,
    private readonly engine: SipEngine,
    writer: SegmentWriter,
    private readonly log: Logger,
    private readonly options: GatewayOptions = {},
  ) {
    super();
    this.router = new Router(config);
    this.allocator = new PortAllocator({ address: config.rtp.address, portMin: config.rtp.portMin, portMax: config.rtp.portMax, logger: log });
    this.deps = {
      engine,
      allocator: this.allocator,
      writer,
      captureClock: this.captureClock,
      pacer: new Pacer(),
      rtp: config.rtp,
      sipPublicAddress: config.sip.publicAddress,
      jitterMs: config.recording.jitterMs,
      segmentSeconds: config.recording.segmentSeconds,
      ringTimeoutSec: config.sip.ringTimeoutSec,
      announcementFor: (line) => this.announcements.get(line.number),
      log,
    };
  }

  get activeCalls(): ReadonlyMap<string, Call> {
    return this.calls;
  }

  async start(): Promise<void> {
    await this.loadAnnouncements();
    this.engine.on('invite', (req, res) => this.onInvite(req, res));
    await this.engine.listen();
    const { address, port, transports } = this.engine.local;
    this.log.info({ address, port, transports, rtp: `${this.config.rtp.address}:${this.config.rtp.portMin}-${this.config.rtp.portMax}`, lines: this.config.lines.length }, 'gateway listening');
  }

  /** Ends every call (BYE both sides), waits for their captures to close, then stops the engine. */
  async stop(): Promise<void> {
    const calls = [...this.calls.values()];
    for (const c of calls) c.end('gateway-shutdown', 503);
    await Promise.all(calls.map((c) => c.finished));
    await this.engine.close();
    this.log.info({ ...this.stats }, 'gateway stopped');
  }

  private async loadAnnouncements(): Promise<void> {
    const cache = new Map<string, Promise<Announcement>>();
    const load = (file: string): Promise<Announcement> => {
      let p = cache.get(file);
      if (!p) {
        p = loadAnnouncement(file);
        cache.set(file, p);
      }
      return p;
    };
    for (const line of this.config.lines) {
      const a = line.announcement;
      if (!line.record || !a) continue;
      const first = await load(a.file ?? BUILTIN_ANNOUNCEMENT);
      const second = a.secondMessage ? { audio: await load(a.secondMessage.file), key: a.secondMessage.key } : undefined;
      this.announcements.set(line.number, second ? { first, second } : { first });
      this.log.info({ line: line.name, file: first.source, durationMs: first.durationMs, secondMessage: second !== undefined }, 'announcement ready');
    }
  }

  private onInvite(req: SipRequest, res: SipResponse): void {
    const decision = this.router.route(req.source.address, req.calledNumber);
    if (decision.kind === 'reject') {
      if (decision.status === 403) this.stats.rejectedNotTrunk++;
      else this.stats.rejectedNoLine++;
      res.send(decision.status, { reason: decision.reason });
      this.logRefusal(req, decision.status);
      return;
    }
    this.startCall(req, res, decision.line, decision.trunk);
  }

  private startCall(req: SipRequest, res: SipResponse, line: LineConfig, trunk: GatewayConfig['trunks'][number]): void {
    let record = line.record;
    if (record && this.options.canRecord && !this.options.canRecord()) {
      this.stats.recordingUnavailable++;
      if (line.onRecordingFailure === 'reject') {
        this.log.error({ line: line.name, policy: 'reject' }, 'recording unavailable (spool full): call refused');
        res.send(503, { reason: 'Service Unavailable', headers: { 'Retry-After': '60' } });
        return;
      }
      this.log.error({ line: line.name, policy: 'continue' }, 'recording unavailable (spool full): call carried unrecorded');
      record = false;
    }
    const call = new Call(this.deps, req, res, line, trunk, record);
    this.calls.set(call.id, call);
    this.stats.callsStarted++;
    call.once('ended', (summary) => {
      this.calls.delete(call.id);
      this.stats.callsEnded++;
      this.safeEmit('call-ended', summary);
    });
    this.safeEmit('call-started', call);
    void call.run();
  }

  /** A flood of refused INVITEs must not flood the log: at most one line a second, with the running counts. */
  private logRefusal(req: SipRequest, status: number): void {
    const now = Date.now();
    if (now - this.lastRefusalLog < 1000) return;
    this.lastRefusalLog = now;
    this.log.warn({ status, source: req.source.address, to: req.calledNumber, rejectedNotTrunk: this.stats.rejectedNotTrunk, rejectedNoLine: this.stats.rejectedNoLine }, 'INVITE refused');
  }

  protected override onListenerError(event: string, err: unknown): void {
    this.log.error({ err, event }, 'gateway listener failed');
  }
}
