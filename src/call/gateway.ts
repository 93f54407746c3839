/**
 * The gateway: takes every new INVITE from the SIP engine, refuses what comes
 * from no trunk (403) or dials no line (404), and runs a Call for the rest.
 * Announcements are transcoded once, here, at start-up, never per call.
 */
import type { AuditSink } from '../access/audit.js';
import { LINE_POLICY_DEFAULTS } from '../config/defaults.js';
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
import { Call, type CallRoute } from './call.js';
import type { CallDeps } from './deps.js';
import { addLeg, noMedia, type MediaTotals } from './media-totals.js';
import { matchesTarget, Router } from './router.js';
import { acceptReplaces, parseReplaces, replacesAgentDialog } from './transfer.js';
import type { CallSummary } from './summary.js';

export interface GatewayEvents {
  'call-started': (call: Call) => void;
  'call-ended': (summary: CallSummary) => void;
}

export interface GatewayOptions {
  /** False while recordings cannot be kept (spool full); lines then apply onRecordingFailure. */
  readonly canRecord?: (this: void) => boolean;
  /** The wall clock routing reads (schedules); tests set it. */
  readonly now?: (this: void) => Date;
  /** Where opt-outs by key are recorded for auditors. */
  readonly audit?: AuditSink;
  /** Deletes recordings from spool and store, for opt-outs that discard. */
  readonly discard?: CallDeps['discard'];
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
  /** Recorded calls that ended with something missing: a segment not closed, or the final manifest not written. */
  recordingsIncomplete: number;
  /** INVITEs refused (503) because the gateway was draining. */
  refusedDraining: number;
}

/** While draining: since when, and when the calls still up will be ended. */
export interface DrainState {
  readonly since: string;
  readonly deadline: string;
}

/** Retry-After of a 503 to a new call: while draining (OPTIONS pings too), or refused for a full spool. */
const RETRY_AFTER_S = 60;
/** How often a drain says how many calls are still up. */
const DRAIN_REPORT_MS = 60_000;

/** How a line's calls ended, for an auditor's "was every call on this line recorded?". */
export interface LineCalls {
  /** Recorded, and the recording is whole. */
  complete: number;
  incomplete: number;
  /** Carried without a recording: the line's schedule, an opt-out, recording unavailable, or no answer. */
  unrecorded: number;
}

/** The host of a sip: URI (the line's queue), to tell its requests from strangers'. */
function hostOf(uri: string): string | undefined {
  return /^sips?:(?:[^@]*@)?\[?([^\]:;>]+)/i.exec(uri)?.[1];
}

/** Outbound calls from extensions no line nominates: carried, never recorded, never announced. */
function unrecordedLine(pbx: string): LineConfig {
  const d = LINE_POLICY_DEFAULTS;
  return {
    number: '',
    match: 'exact',
    name: `outbound-${pbx}`,
    target: '',
    record: false,
    recordMode: 'never',
    schedule: [],
    retentionDays: d.retentionDays,
    onRecordingFailure: d.onRecordingFailure,
    onTransfer: d.onTransfer,
    paymentTargets: [],
    unrecordedExtensions: [],
    extensions: [],
    redactDtmf: d.redactDtmf,
    dtmfQuietMs: d.dtmfQuietMs,
    optOut: { discard: d.optOutDiscard },
  };
}

export class Gateway extends TypedEmitter<GatewayEvents> {
  readonly allocator: PortAllocator;
  readonly stats: GatewayStats = { recordingUnavailable: 0, rejectedNotTrunk: 0, rejectedNoLine: 0, callsStarted: 0, callsEnded: 0, recordingsIncomplete: 0, refusedDraining: 0 };
  /** Every ended call by its line, in the order lines first ended a call. */
  readonly lineCalls = new Map<string, LineCalls>();
  private readonly calls = new Map<string, Call>();
  /** The media counters of every call that ended; `media` adds the calls still up. */
  private readonly endedMedia = noMedia();
  private readonly router: Router;
  private readonly announcements = new Map<LineConfig, AnnouncementSet>();
  private readonly deps: CallDeps;
  private readonly captureClock = new CaptureClock();
  private lastRefusalLog = 0;
  private drainState: DrainState | undefined;

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
      lookbackMs: config.recording.lookbackMs,
      segmentSeconds: config.recording.segmentSeconds,
      ringTimeoutSec: config.sip.ringTimeoutSec,
      announcementFor: (line) => this.announcements.get(line),
      ...(options.discard ? { discard: options.discard } : {}),
      log,
    };
  }

  get activeCalls(): ReadonlyMap<string, Call> {
    return this.calls;
  }

  /** RTP and capture counters since start. A call moves from live to ended in one step, so the sums only ever grow. */
  get media(): MediaTotals {
    const totals = { ...this.endedMedia };
    for (const call of this.calls.values()) {
      for (const leg of [call.callerLeg, call.agentLeg]) {
        if (leg) addLeg(totals, leg.counters, call.recordings.get(leg.name)?.capture.counters);
      }
    }
    return totals;
  }

  async start(): Promise<void> {
    await this.loadAnnouncements();
    this.engine.on('invite', (req, res) => this.onInvite(req, res));
    await this.engine.listen();
    const { address, port, transports } = this.engine.local;
    this.log.info({ address, port, transports, rtp: `${this.config.rtp.address}:${this.config.rtp.portMin}-${this.config.rtp.portMax}`, lines: this.config.lines.length }, 'gateway listening');
  }

  get draining(): DrainState | undefined {
    return this.drainState;
  }

  /**
   * Refuses new calls (503, and OPTIONS pings likewise, so a trunk sends its
   * calls elsewhere) while the calls up carry on to their end, for a restart
   * that cuts no one off. Resolves once the last call has ended, or when `ms`
   * has passed or `signal` aborts: stop() then ends the rest. Requests inside
   * a call, and an INVITE with Replaces for a call up (a transfer in the
   * PBX), are still taken.
   */
  async drain(ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    if (!this.drainState) {
      this.drainState = { since: new Date().toISOString(), deadline: new Date(deadline).toISOString() };
      this.engine.setOutOfService(RETRY_AFTER_S);
      this.log.warn({ calls: this.calls.size, deadline: this.drainState.deadline }, 'draining: new calls refused, the calls up carry on');
    }
    if (this.calls.size === 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      // The timers are set before anything can call done().
      const done = (): void => {
        clearInterval(report);
        clearTimeout(timeout);
        signal?.removeEventListener('abort', done);
        this.off('call-ended', onEnded);
        resolve();
      };
      const onEnded = (): void => {
        if (this.calls.size === 0) done();
      };
      const report = setInterval(() => this.log.info({ calls: this.calls.size }, 'draining'), DRAIN_REPORT_MS);
      const timeout = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.on('call-ended', onEnded);
      signal?.addEventListener('abort', done, { once: true });
    });
    if (this.calls.size > 0) this.log.warn({ calls: this.calls.size, aborted: signal?.aborted ?? false }, 'drain over: ending the calls still up');
    else this.log.info('drained: no call up');
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
      this.announcements.set(line, second ? { first, second } : { first });
      this.log.info({ line: line.name, file: first.source, durationMs: first.durationMs, secondMessage: second !== undefined }, 'announcement ready');
    }
  }

  private onInvite(req: SipRequest, res: SipResponse): void {
    const now = this.options.now?.() ?? new Date();
    if (req.has('replaces') && this.onReplaces(req, res)) return;
    if (this.drainState) {
      this.stats.refusedDraining++;
      res.send(503, { reason: 'Service Unavailable', headers: { 'Retry-After': String(RETRY_AFTER_S) } });
      return;
    }
    if (this.router.isPbx(req.source.address)) {
      const out = this.router.routeOutbound(req.source.address, req.callingNumber, req.calledNumber, now);
      if (out.kind === 'reject') return this.refuse(req, res, out.status, out.reason);
      // An outbound call with no nominated line is still carried, through the gateway, unrecorded.
      const line = out.line ?? unrecordedLine(out.pbx.name);
      // A confidential number is never recorded, whichever side dials it; nor is a call straight to a payment desk.
      const record = out.record && !matchesTarget(line.unrecordedExtensions, req.calledNumber) && !matchesTarget(line.paymentTargets, req.calledNumber);
      this.startCall(
        req,
        res,
        {
          line,
          direction: 'outbound',
          target: out.target,
          record,
          from: out.pbx.name,
          ...(req.callingNumber ? { operator: req.callingNumber } : {}),
          // The outside world sees the line's number, not the agent's internal extension.
          ...(out.line?.match === 'exact' ? { presentedNumber: out.line.number } : {}),
        },
        false,
      );
      return;
    }
    const decision = this.router.route(req.source.address, req.calledNumber, now);
    if (decision.kind === 'reject') return this.refuse(req, res, decision.status, decision.reason);
    const { line } = decision;
    // A confidential extension behind a recorded line: carried, never recorded, and the caller is not told it is.
    const confidential = matchesTarget(line.unrecordedExtensions, req.calledNumber);
    const record = decision.record && !confidential;
    this.startCall(req, res, { line, direction: 'inbound', target: line.target, record, from: decision.trunk.name }, record);
  }

  private refuse(req: SipRequest, res: SipResponse, status: 403 | 404, reason: string): void {
    if (status === 403) this.stats.rejectedNotTrunk++;
    else this.stats.rejectedNoLine++;
    res.send(status, { reason });
    this.logRefusal(req, status);
  }

  /**
   * INVITE with Replaces naming one of our agent dialogs, from the agent side
   * (a PBX, or the address that agent dialog is with): a transfer inside the
   * PBX. False when it names none of ours: routed like any INVITE.
   */
  private onReplaces(req: SipRequest, res: SipResponse): boolean {
    const replaces = parseReplaces(req.get('replaces'));
    if (!replaces) return false;
    const call = [...this.calls.values()].find((c) => !c.ended && replacesAgentDialog(c, replaces));
    if (!call) return false;
    const fromAgentSide = this.router.isPbx(req.source.address) !== undefined || hostOf(call.target) === req.source.address;
    if (!fromAgentSide) return false;
    void acceptReplaces(call, req, res).catch((err: unknown) => call.log.error({ err }, 'INVITE with Replaces failed'));
    return true;
  }

  /** `announce`: the line tells callers it records (even when the spool is full: the policy is the line's). */
  private startCall(req: SipRequest, res: SipResponse, route: CallRoute, announce: boolean): void {
    const { line } = route;
    let record = route.record;
    if (record && this.options.canRecord && !this.options.canRecord()) {
      this.stats.recordingUnavailable++;
      if (line.onRecordingFailure === 'reject') {
        this.log.error({ line: line.name, policy: 'reject' }, 'recording unavailable (spool full): call refused');
        res.send(503, { reason: 'Service Unavailable', headers: { 'Retry-After': String(RETRY_AFTER_S) } });
        return;
      }
      this.log.error({ line: line.name, policy: 'continue' }, 'recording unavailable (spool full): call carried unrecorded');
      record = false;
    }
    const call = new Call(this.deps, req, res, { ...route, record }, announce);
    this.calls.set(call.id, call);
    this.stats.callsStarted++;
    call.once('opted-out', (by) => {
      // The API audits its own requests; a key press has no one else to write it down.
      if (by !== 'caller-key') return;
      this.options.audit
        ?.append({ action: 'opt-out', callId: call.id, by, outcome: 'ok', details: { line: line.name, how: 'announcement key', discarded: false } })
        .catch((err: unknown) => this.log.error({ err, callId: call.id }, 'audit record of an opt-out not written'));
    });
    call.once('ended', (summary) => {
      this.calls.delete(call.id);
      this.stats.callsEnded++;
      this.countLineCall(summary);
      for (const leg of [summary.legs.caller, summary.legs.agent]) if (leg) addLeg(this.endedMedia, leg, leg.capture);
      this.safeEmit('call-ended', summary);
    });
    this.safeEmit('call-started', call);
    void call.run();
  }

  private countLineCall(summary: CallSummary): void {
    let counts = this.lineCalls.get(summary.line);
    if (!counts) this.lineCalls.set(summary.line, (counts = { complete: 0, incomplete: 0, unrecorded: 0 }));
    if (summary.recording === 'incomplete') {
      counts.incomplete++;
      this.stats.recordingsIncomplete++;
    } else if (summary.recording === 'complete') counts.complete++;
    else counts.unrecorded++;
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
