/**
 * `GET /logs` upgraded to a WebSocket: the gateway's log lines as they are
 * written, one JSON line per message, for ops to tail live (`recgw logs`).
 *
 * Query: `callId`, `line` (each must match the line's field), `level` (the
 * least: info, warn, error...), `tail` (how many recent lines first; default
 * 50). A follower that cannot keep up loses lines rather than hold the
 * gateway's memory: past a megabyte unsent, lines are dropped and counted,
 * and the next line sent is preceded by a notice saying how many.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LogFilter, LogHub } from '../ops/log-hub.js';
import type { Logger } from '../ops/log.js';
import { ControlError } from './errors.js';

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const MAX_UNSENT_BYTES = 1 << 20;
const DEFAULT_TAIL = 50;
/** Followers at once: each holds a socket and up to a megabyte unsent. */
export const MAX_FOLLOWERS = 16;
const CLOSE_GRACE_MS = 1000;

export interface LogRequest {
  readonly filter: LogFilter;
  readonly tail: number;
}

/** The follower's filter and backlog, from the query; throws `bad-request` naming the parameter. */
export function parseLogQuery(search: URLSearchParams, backlog: number): LogRequest {
  const known = ['callId', 'line', 'level', 'tail'];
  const unknown = [...search.keys()].filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new ControlError('bad-request', `unknown parameter(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const filter: { callId?: string; line?: string; minLevel?: number } = {};
  const callId = search.get('callId');
  if (callId !== null) filter.callId = callId;
  const line = search.get('line');
  if (line !== null) filter.line = line;
  const level = search.get('level');
  if (level !== null) {
    const n = LEVELS[level];
    if (n === undefined) throw new ControlError('bad-request', `level must be one of ${Object.keys(LEVELS).join(', ')}`);
    filter.minLevel = n;
  }
  const t = search.get('tail');
  const tail = t === null ? Math.min(DEFAULT_TAIL, backlog) : Number(t);
  if (!Number.isInteger(tail) || tail < 0 || tail > backlog) throw new ControlError('bad-request', `tail must be a whole number 0-${backlog}`);
  return { filter, tail };
}

export class LogStreams {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });

  constructor(
    private readonly hub: LogHub,
    private readonly log: Logger,
  ) {}

  get followers(): number {
    return this.wss.clients.size;
  }

  /** Takes over an authorised upgrade request; throws `ControlError` (to be answered raw) when it cannot. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, search: URLSearchParams, caller: { readonly remote: string; readonly client: string }): void {
    const request = parseLogQuery(search, this.hub.backlog);
    if (this.wss.clients.size >= MAX_FOLLOWERS) throw new ControlError('too-many-followers', `at most ${MAX_FOLLOWERS} log followers at once`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, request, caller));
  }

  private attach(ws: WebSocket, request: LogRequest, caller: { readonly remote: string; readonly client: string }): void {
    let dropped = 0;
    const send = (line: string): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_UNSENT_BYTES) {
        dropped++;
        return;
      }
      if (dropped > 0) {
        ws.send(JSON.stringify({ level: 40, time: new Date().toISOString(), msg: `log stream: ${dropped} lines dropped, this follower read too slowly` }));
        dropped = 0;
      }
      ws.send(line);
    };
    for (const line of this.hub.recent(request.filter, request.tail)) send(line);
    const unfollow = this.hub.follow({ filter: request.filter, send });
    this.log.info({ component: 'control', ...caller, filter: request.filter }, 'log follower joined');
    ws.on('close', () => {
      unfollow();
      this.log.info({ component: 'control', ...caller }, 'log follower left');
    });
    ws.on('error', () => ws.terminate());
    // Followers only listen: whatever they send is ignored.
  }

  /** Says goodbye to every follower, then cuts whoever does not go. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.close(1001, 'gateway stopping');
    const cut = setTimeout(() => {
      for (const ws of this.wss.clients) ws.terminate();
    }, CLOSE_GRACE_MS);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    clearTimeout(cut);
  }
}
