/**
 * Every answer of the control API is JSON, errors included:
 * `{ "error": { "code": "...", "message": "..." } }`; only GET /metrics
 * answers in the format monitoring systems read.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ControlError } from './errors.js';

const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  sendBody(req, res, status, body, extra);
}

/** An answer in another format than JSON (the metrics): `extra` names its content-type. */
export function sendBody(req: IncomingMessage, res: ServerResponse, status: number, body: string, extra: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...HEADERS, ...extra, 'content-length': Buffer.byteLength(body) };
  // A body we did not read (refused before, or too big) would otherwise be drained to keep the connection alive.
  if (!req.complete) headers['connection'] = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

export function sendError(req: IncomingMessage, res: ServerResponse, err: ControlError, extra: Record<string, string> = {}): void {
  sendJson(req, res, err.status, errorBody(err.code, err.message), extra);
}

/**
 * The raw answer to a request node's parser refused (no `ServerResponse`
 * exists for it): malformed, headers too large, or too slow to arrive; and to
 * an upgrade request (`/logs`) that is refused.
 */
export function rawErrorResponse(status: number, message: string, code = 'bad-request', extra: Record<string, string> = {}): string {
  const body = errorBody(code, message);
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    `content-type: ${HEADERS['content-type']}`,
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
    'connection: close',
    '',
    body,
  ].join('\r\n');
}
