/**
 * Outgoing SIP text. Every message the engine sends is assembled here, so the
 * rules that must never slip (Content-Length in bytes, the branch magic cookie,
 * Content-Type for a body) live in one place.
 */
import { randomBytes } from 'node:crypto';

/** Ordered header list: SIP allows repeats and order matters for Via and Route. */
export type HeaderList = Array<[name: string, value: string]>;

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY';

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  200: 'OK', 202: 'Accepted', 300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 415: 'Unsupported Media Type', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 483: 'Too Many Hops', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 491: 'Request Pending', 500: 'Server Internal Error', 501: 'Not Implemented',
  503: 'Service Unavailable', 504: 'Server Time-out', 600: 'Busy Everywhere', 603: 'Decline',
  604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? 'Progress' : status < 300 ? 'OK' : 'Error');
}

export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export function newBranch(): string {
  return `z9hG4bK${randomBytes(9).toString('hex')}`;
}

export function newCallId(host: string): string {
  return `${randomBytes(12).toString('hex')}@${host}`;
}

const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via',
};

/** Lower-case long form of a header name, so `l` and `Content-Length` compare equal. */
export function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

/**
 * Applies the caller's headers over ours: a header the caller names replaces
 * every one of ours with that name, the rest are appended in their order.
 */
export function withOverrides(base: HeaderList, overrides?: Readonly<Record<string, string>>): HeaderList {
  if (!overrides) return base;
  const named = new Map(Object.entries(overrides).map(([n, v]) => [canonicalName(n), [n, v] as [string, string]]));
  const out: HeaderList = [];
  for (const h of base) {
    const o = named.get(canonicalName(h[0]));
    if (o === undefined) out.push(h);
    else if (named.delete(canonicalName(h[0]))) out.push(o);
  }
  for (const o of named.values()) out.push(o);
  return out;
}

function finish(startLine: string, headers: HeaderList, body: string): string {
  const lines = [startLine];
  let hasType = false;
  for (const [name, value] of headers) {
    const c = canonicalName(name);
    // The length is ours to state: a caller-supplied one could only be wrong.
    if (c === 'content-length') continue;
    if (c === 'content-type') hasType = true;
    lines.push(`${name}: ${value}`);
  }
  if (body.length > 0 && !hasType) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export function formatRequest(method: string, uri: string, headers: HeaderList, body = ''): string {
  return finish(`${method} ${uri} SIP/2.0`, headers, body);
}

export function formatResponse(status: number, reason: string, headers: HeaderList, body = ''): string {
  return finish(`SIP/2.0 ${status} ${reason}`, headers, body);
}

/** Splits a header value at commas that separate entries (not inside quotes or <>). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && ch === '<') depth++;
    else if (!quoted && ch === '>') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && ch === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/** Adds `;tag=` to a From/To value that has none. */
export function withTag(nameAddr: string, tag: string): string {
  return /;\s*tag=/i.test(nameAddr) ? nameAddr : `${nameAddr};tag=${tag}`;
}
