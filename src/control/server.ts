/**
 * The HTTP control API: list the active calls, and pause, resume, stop or
 * opt a call out of recording; place and release holds on recorded calls, and
 * sweep expired recordings now. node:http only. Every request must carry the
 * bearer token; every action, and every refused token, goes to the audit log
 * before the answer goes out, so a client that saw an answer can rely on the
 * record being there.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AuditEntry, AuditSink } from '../access/audit.js';
import type { ControlRole } from '../config/types.js';
import type { LogHub } from '../ops/log-hub.js';
import type { Logger } from '../ops/log.js';
import { bearerAuth, mayTake, type AuthOutcome, type Principal } from './auth.js';
import { DEFAULT_BY, parseActionBody, parseHoldBody, parseReasonedBody, readBody } from './body.js';
import { ControlError, isControlError } from './errors.js';
import { rawErrorResponse, sendBody, sendError, sendJson } from './reply.js';
import { METRICS_CONTENT_TYPE } from '../ops/metrics.js';
import { LogStreams } from './logs.js';
import { getCall, matchRoute, runAction, type Action, type Route } from './routes.js';
import type { CaptureControl, HealthView, RetentionControl } from './types.js';

/** Who made a request, as the audit log and the log record it. */
interface Caller {
  readonly remote: string;
  /** The token's name: `admin`, or a client's. */
  readonly client: string;
}

export interface ControlServerOptions {
  /** Address to bind: loopback unless operators reach the API from elsewhere. */
  readonly listen: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The main token: `admin`, every route. */
  readonly token: string;
  /** Tokens of one role each (config `control.clients`). */
  readonly clients?: readonly { readonly name: string; readonly role: ControlRole; readonly token: string }[];
  readonly control: CaptureControl;
  /** GET /health's answer, given the server's own counters; `{ status: 'ok' }` without it. */
  readonly health?: (control: Readonly<ControlStats>) => HealthView;
  /** GET /metrics's answer, given the server's own counters; without it that route answers `not-found`. */
  readonly metrics?: (control: Readonly<ControlStats>) => string;
  /** The log's live tail for `GET /logs` (a WebSocket); without it that route answers `not-found`. */
  readonly logs?: LogHub;
  /** Holds and sweeps; without it those routes answer `no-store`. */
  readonly retention?: RetentionControl;
  /** How long POST /retention/sweep waits for the sweep's report before answering that it runs on. Default 20 s. */
  readonly sweepWaitMs?: number;
  readonly audit: AuditSink;
  readonly log: Logger;
  /** A client must send all its headers within this (slow-header clients hold sockets). Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** ...and the whole request within this. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Connections beyond this are refused. Default 64. */
  readonly maxConnections?: number;
}

export interface ControlStats {
  requests: number;
  /** Requests refused for a missing, malformed or wrong token. */
  unauthorized: number;
  /** Requests node's parser refused: malformed, headers too large, too slow. */
  malformed: number;
  /** Audit records that could not be written (each also logged as an error). */
  auditFailures: number;
}

export interface ControlServer {
  readonly address: string;
  readonly port: number;
  readonly stats: Readonly<ControlStats>;
  /** Stops accepting, lets requests in flight finish for a moment, then cuts the rest. Idempotent. */
  close(): Promise<void>;
}

const MAX_HEADER_SIZE = 8192;
const SWEEP_WAIT_MS = 20_000;
const CLOSE_GRACE_MS = 1000;
const WARN_INTERVAL_MS = 1000;

function normaliseAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** The path of the request target, without its query; undefined for a target that has none (`*`). */
function pathnameOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  // The usual origin-form ("/calls/x?y") is cut as is: resolving it as a URL would read "//x/y" as a host.
  if (url.startsWith('/')) return url.split(/[?#]/, 1)[0];
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const log = opts.log.child({ component: 'control' });
  const checkToken = bearerAuth([{ name: 'admin', role: 'admin', token: opts.token }, ...(opts.clients ?? [])]);
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(opts.requestTimeoutMs ?? 30_000, headersTimeout);
  const stats: ControlStats = { requests: 0, unauthorized: 0, malformed: 0, auditFailures: 0 };
  let lastUnauthorizedWarn = 0;

  /** The answer still goes out when the record cannot be written: the action has happened either way. */
  async function record(entry: AuditEntry): Promise<void> {
    try {
      await opts.audit.append(entry);
    } catch (err) {
      stats.auditFailures++;
      log.error({ err, action: entry.action, callId: entry.callId, by: entry.by, outcome: entry.outcome }, 'audit record not written');
    }
  }

  /** A token-guessing flood must not flood the log: one line a second, with the running count. */
  function warnUnauthorized(remote: string, why: AuthOutcome): void {
    const now = Date.now();
    if (now - lastUnauthorizedWarn < WARN_INTERVAL_MS) return;
    lastUnauthorizedWarn = now;
    log.warn({ remote, why, unauthorized: stats.unauthorized }, 'control request refused: bad or missing token');
  }

  /** A valid token asking beyond its role is no guess: audited by name, and warned of, since it is a client misconfigured or misused. */
  async function forbidden(caller: Caller, principal: Principal, method: string, path: string): Promise<void> {
    log.warn({ ...caller, role: principal.role, method, path }, 'control request refused: beyond the client\'s role');
    await record({ action: 'forbidden', by: principal.name, outcome: 'forbidden', details: { ...caller, role: principal.role, method, path: path.slice(0, 256) } });
  }

  function toControlError(err: unknown, context: Record<string, unknown>): ControlError {
    if (isControlError(err)) return err;
    log.error({ err, ...context }, 'control request failed');
    return new ControlError('internal', 'internal error', { cause: err });
  }

  /**
   * An action that changes something: its body is read and checked, it runs,
   * and the outcome, done or refused, is audited before the answer goes out.
   */
  async function audited<B extends { readonly by: string; readonly reason?: string | undefined }>(
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    what: { readonly action: string; readonly callId?: string },
    parse: (body: Buffer) => B,
    run: (body: B) => Promise<{ readonly reply: unknown; readonly details?: Record<string, unknown>; readonly status?: number }>,
  ): Promise<void> {
    const { action, callId } = what;
    let by = DEFAULT_BY;
    let reason: string | undefined;
    try {
      const body = parse(await readBody(req));
      by = body.by;
      reason = body.reason;
      const { reply, details, status } = await run(body);
      await record({ action, ...(callId !== undefined ? { callId } : {}), by, outcome: 'ok', details: { ...caller, reason, ...details } });
      log.info({ action, callId, by, ...caller, ...details }, 'control action');
      sendJson(req, res, status ?? 200, JSON.stringify(reply));
    } catch (err) {
      const e = toControlError(err, { action, callId, by });
      await record({ action, ...(callId !== undefined ? { callId } : {}), by, outcome: e.code, details: { ...caller, reason } });
      sendError(req, res, e);
    }
  }

  function handleAction(req: IncomingMessage, res: ServerResponse, action: Action, callId: string, caller: Caller): Promise<void> {
    return audited(req, res, caller, { action, callId }, parseActionBody, async ({ by }) => {
      const result = await runAction(opts.control, action, callId, by);
      const discarded = 'discarded' in result ? result.discarded : undefined;
      return { reply: result, details: { capture: result.call.capture, discarded } };
    });
  }

  function retention(): RetentionControl {
    if (!opts.retention) throw new ControlError('no-store', 'this gateway has no recording store: holds and sweeps need one');
    return opts.retention;
  }

  function handleRetention(req: IncomingMessage, res: ServerResponse, route: Route & { kind: 'hold' | 'release-hold' | 'sweep' | 'erase' }, caller: Caller): Promise<void> {
    switch (route.kind) {
      case 'hold':
        return audited(req, res, caller, { action: 'hold', callId: route.callId }, (b) => parseHoldBody(b, new Date()), async (body) => {
          const placed = await retention().place(route.callId, body);
          return { reply: placed, details: { until: placed.hold.until ?? 'released', objects: placed.objects } };
        });
      case 'release-hold':
        return audited(req, res, caller, { action: 'release-hold', callId: route.callId }, parseActionBody, async () => {
          const hold = await retention().release(route.callId);
          return { reply: { released: hold }, details: { held: hold.reason, placedBy: hold.by, placedAt: hold.placedAt } };
        });
      case 'erase':
        // Erasing before retention ends is a decision someone answers for: it needs its reason.
        return audited(req, res, caller, { action: 'erase', callId: route.callId }, parseReasonedBody, async () => {
          const erased = await retention().erase(route.callId);
          return { reply: { erased }, details: erased };
        });
      case 'sweep':
        return audited(req, res, caller, { action: 'retention-sweep' }, parseActionBody, async () => {
          // A large store takes minutes: past the wait the answer says it runs on, and /health has its report.
          let timer: NodeJS.Timeout | undefined;
          const waited = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), opts.sweepWaitMs ?? SWEEP_WAIT_MS)));
          const report = await Promise.race([retention().sweep(), waited]).finally(() => clearTimeout(timer));
          if (!report) return { status: 202, reply: { running: true, message: 'the sweep runs on; GET /health shows its report when it ends' }, details: { running: true } };
          return { reply: { report }, details: { deleted: report.deleted, held: report.held, failed: report.failed, error: report.error } };
        });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const remote = normaliseAddress(req.socket.remoteAddress);
    const method = req.method ?? '';
    const path = pathnameOf(req.url);

    const auth = checkToken(req.headers.authorization);
    if (auth.outcome !== 'ok') {
      stats.unauthorized++;
      warnUnauthorized(remote, auth.outcome);
      // The path only (a query string could carry a token given in the wrong place), cut short.
      await record({ action: 'unauthorized', by: 'unauthenticated', outcome: 'unauthorized', details: { remote, method, path: path?.slice(0, 256), why: auth.outcome } });
      sendError(req, res, new ControlError('unauthorized', 'a valid bearer token is required'), { 'www-authenticate': 'Bearer' });
      return;
    }

    let match;
    try {
      match = path === undefined ? undefined : matchRoute(path);
    } catch (err) {
      sendError(req, res, toControlError(err, { method, path }));
      return;
    }
    if (!match) {
      sendError(req, res, new ControlError('not-found', `no route ${method} ${path ?? ''}`));
      return;
    }
    if (method !== match.method) {
      sendError(req, res, new ControlError('method-not-allowed', `${path ?? ''} accepts ${match.method} only`), { allow: match.method });
      return;
    }

    const { route } = match;
    const caller: Caller = { remote, client: auth.principal.name };
    if (!mayTake(auth.principal, route.kind)) {
      await forbidden(caller, auth.principal, method, path ?? '');
      sendError(req, res, new ControlError('forbidden', `${auth.principal.name} (${auth.principal.role}) may not ${method} ${path ?? ''}`));
      return;
    }
    try {
      switch (route.kind) {
        case 'health':
          sendJson(req, res, 200, JSON.stringify(opts.health?.(stats) ?? { status: 'ok' }));
          return;
        case 'metrics':
          if (!opts.metrics) throw new ControlError('not-found', 'this gateway exports no metrics');
          sendBody(req, res, 200, opts.metrics(stats), { 'content-type': METRICS_CONTENT_TYPE });
          return;
        case 'list':
          sendJson(req, res, 200, JSON.stringify({ calls: opts.control.list() }));
          return;
        case 'get':
          sendJson(req, res, 200, JSON.stringify(getCall(opts.control, route.callId)));
          return;
        case 'action':
          await handleAction(req, res, route.action, route.callId, caller);
          return;
        case 'holds':
          sendJson(req, res, 200, JSON.stringify({ holds: await retention().holds() }));
          return;
        case 'hold':
        case 'release-hold':
        case 'sweep':
        case 'erase':
          await handleRetention(req, res, route, caller);
          return;
        case 'logs':
          // A WebSocket upgrade never reaches here: it goes to the 'upgrade' handler.
          sendError(req, res, new ControlError('upgrade-required', '/logs is a WebSocket: follow it with `recgw logs` or any WebSocket client'), { upgrade: 'websocket' });
          return;
      }
    } catch (err) {
      sendError(req, res, toControlError(err, { method, path }));
    }
  }

  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_SIZE,
      headersTimeout: headersTimeout,
      requestTimeout: requestTimeout,
      // The default (30 s) is how often the timeouts above are checked at all.
      connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(headersTimeout / 2))),
      // Host names mean nothing here, and node's own refusal of a missing Host would not be JSON.
      requireHostHeader: false,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        log.error({ err }, 'control request handler failed');
        if (!res.headersSent) sendError(req, res, new ControlError('internal', 'internal error'));
        else res.destroy();
      });
    },
  );
  server.maxConnections = opts.maxConnections ?? 64;
  // A client that stops reading its answer holds the socket; idle sockets are destroyed after this.
  server.setTimeout(requestTimeout * 2);

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    stats.malformed++;
    // An answer already under way on this socket (pipelined garbage after a good request) must not be interleaved.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const [status, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'request headers too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request timed out']
          : [400, 'malformed request'];
    log.debug({ code: err.code, remote: normaliseAddress((socket as Socket).remoteAddress) }, 'control request refused by the parser');
    socket.end(rawErrorResponse(status, message));
  });

  const streams = opts.logs ? new LogStreams(opts.logs, opts.log) : undefined;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      log.error({ err }, 'log stream upgrade failed');
      socket.destroy();
    });
  });

  /** Only `/logs` upgrades, with the same token as every other route. */
  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    stats.requests++;
    const remote = normaliseAddress(req.socket.remoteAddress);
    const refuse = (err: ControlError, extra: Record<string, string> = {}): void => {
      socket.end(rawErrorResponse(err.status, err.message, err.code, extra));
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://control');
    } catch {
      refuse(new ControlError('bad-request', 'malformed request target'));
      return;
    }
    const auth = checkToken(req.headers.authorization);
    if (auth.outcome !== 'ok') {
      stats.unauthorized++;
      warnUnauthorized(remote, auth.outcome);
      await record({ action: 'unauthorized', by: 'unauthenticated', outcome: 'unauthorized', details: { remote, method: 'GET', path: url.pathname.slice(0, 256), why: auth.outcome } });
      refuse(new ControlError('unauthorized', 'a valid bearer token is required'), { 'www-authenticate': 'Bearer' });
      return;
    }
    if (url.pathname !== '/logs' || !streams) {
      refuse(new ControlError('not-found', `no WebSocket at ${url.pathname}${streams ? '' : ': this gateway keeps no log tail'}`));
      return;
    }
    if (!mayTake(auth.principal, 'logs')) {
      await forbidden({ remote, client: auth.principal.name }, auth.principal, 'GET', url.pathname);
      refuse(new ControlError('forbidden', `${auth.principal.name} (${auth.principal.role}) may not follow the log`));
      return;
    }
    try {
      streams.accept(req, socket, head, url.searchParams, { remote, client: auth.principal.name });
    } catch (err) {
      refuse(toControlError(err, { path: url.pathname }));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.listen, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After start-up, a socket error must be logged, not thrown into the process.
  server.on('error', (err) => log.error({ err }, 'control server error'));

  // Whoever starts the server says it listens, with what it knows besides (where the token is).
  const bound = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    address: bound.address,
    port: bound.port,
    stats,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // Upgraded sockets no longer belong to the HTTP server: its close would wait on them for ever.
        void streams?.close();
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
