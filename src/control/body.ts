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

/** An empty body means "no details": the action is attributed to `api`. */
export function parseActionBody(body: Buffer): ActionBody {
  const text = body.toString('utf8');
  if (text.trim() === '') return { by: DEFAULT_BY };
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
  const unknown = Object.keys(fields).filter((k) => k !== 'by' && k !== 'reason');
  if (unknown.length > 0) throw new ControlError('bad-request', `unknown field(s): ${unknown.join(', ')}`);

  let by = DEFAULT_BY;
  if (fields['by'] !== undefined) {
    const b = fields['by'];
    if (typeof b !== 'string' || b.trim() === '' || b.length > BY_MAX || !BY_PATTERN.test(b)) {
      throw new ControlError('bad-request', `"by" must be a non-empty string of at most ${BY_MAX} printable characters`);
    }
    by = b.trim();
  }
  const r = fields['reason'];
  if (r === undefined) return { by };
  if (typeof r !== 'string' || r.length > REASON_MAX) {
    throw new ControlError('bad-request', `"reason" must be a string of at most ${REASON_MAX} characters`);
  }
  return { by, reason: r };
}
