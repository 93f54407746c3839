/**
 * Reading and checking the optional JSON body of an action request
 * (`{ "by": "jsmith", "reason": "card details" }`). The body is bounded before
 * a byte of it is buffered past the limit: a huge or endless upload costs the
 * gateway at most `limit` bytes of memory.
 */
import type { IncomingMessage } from 'node:http';
import { ControlError } from './errors.js';

export const BODY_LIMIT = 4096;
export const DEFAULT_BY = 'api';
const BY_MAX = 64;
const REASON_MAX = 1000;
// Control characters in a name would let it forge or garble lines of a log reader's view.
const BY_PATTERN = /^[^\p{Cc}]+$/u;

export interface ActionBody {
  readonly by: string;
  readonly reason?: string;
}

/** Resolves with the whole body; rejects with `payload-too-large` or `bad-request` (upload broken off). */
export function readBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new ControlError('payload-too-large', `body over ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop reading; the reply goes out with `Connection: close`, which drops the rest.
        req.pause();
        reject(new ControlError('payload-too-large', `body over ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(parts, size));
    };
    const onError = (): void => {
      cleanup();
      reject(new ControlError('bad-request', 'request body broken off'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    // 'close' before 'end': the client went away mid-upload.
    req.on('close', onError);
  });
}

export interface HoldBody {
  readonly by: string;
  readonly reason: string;
  /** ISO 8601, UTC; absent: until released. */
  readonly until?: string;
}

/** The body's JSON object (empty for an empty body); only `allowed` fields, so a misspelt one is refused rather than ignored. */
function fieldsOf(body: Buffer, allowed: readonly string[]): Record<string, unknown> {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlError('bad-request', 'body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ControlError('bad-request', 'body must be a JSON object');
  }
  const fields = value as Record<string, unknown>;
  // A misspelt field ("By") would otherwise silently attribute the action to `api`.
  const unknown = Object.keys(fields).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new ControlError('bad-request', `unknown field(s): ${unknown.join(', ')}`);
  return fields;
}

function byOf(fields: Record<string, unknown>): string {
  const b = fields['by'];
  if (b === undefined) return DEFAULT_BY;
  if (typeof b !== 'string' || b.trim() === '' || b.length > BY_MAX || !BY_PATTERN.test(b)) {
    throw new ControlError('bad-request', `"by" must be a non-empty string of at most ${BY_MAX} printable characters`);
  }
  return b.trim();
}

function reasonOf(fields: Record<string, unknown>): string | undefined {
  const r = fields['reason'];
  if (r === undefined) return undefined;
  if (typeof r !== 'string' || r.length > REASON_MAX) {
    throw new ControlError('bad-request', `"reason" must be a string of at most ${REASON_MAX} characters`);
  }
  return r;
}

/** The reason an action cannot go without: missing or blank is refused with `says`. */
function requiredReasonOf(fields: Record<string, unknown>, says: string): string {
  const r = reasonOf(fields);
  if (r === undefined || r.trim() === '') throw new ControlError('bad-request', says);
  return r;
}

/** An empty body means "no details": the action is attributed to `api`. */
export function parseActionBody(body: Buffer): ActionBody {
  const fields = fieldsOf(body, ['by', 'reason']);
  const by = byOf(fields);
  const reason = reasonOf(fields);
  return reason === undefined ? { by } : { by, reason };
}

/** An action that needs its reason (an erasure): `{ by, reason }`, the reason not blank. */
export function parseReasonedBody(body: Buffer): ActionBody & { readonly reason: string } {
  const fields = fieldsOf(body, ['by', 'reason']);
  return { by: byOf(fields), reason: requiredReasonOf(fields, 'this action needs a "reason"') };
}

/** A hold needs its reason (a complaint or case reference); `until`, when given, is a date still to come. */
export function parseHoldBody(body: Buffer, now: Date): HoldBody {
  const fields = fieldsOf(body, ['by', 'reason', 'until']);
  const by = byOf(fields);
  const reason = requiredReasonOf(fields, 'a hold needs a "reason": the complaint or case it is kept for');
  const u = fields['until'];
  if (u === undefined) return { by, reason };
  const at = typeof u === 'string' ? Date.parse(u) : NaN;
  if (Number.isNaN(at)) throw new ControlError('bad-request', '"until" must be an ISO 8601 date or time, such as 2027-06-30');
  if (at <= now.getTime()) throw new ControlError('bad-request', '"until" must be in the future');
  return { by, reason, until: new Date(at).toISOString() };
}
