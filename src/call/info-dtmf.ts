/**
 * DTMF sent as SIP INFO: `application/dtmf-relay` (`Signal=5` and
 * `Duration=160` lines) and `application/dtmf` (the key alone). Anything
 * else, or a body that names no key, is not a digit.
 */
const KEY = /^[0-9*#A-Da-d]$/;
const DEFAULT_DURATION_MS = 250;

export interface InfoDigit {
  readonly digit: string;
  readonly durationMs: number;
}

export function dtmfOfInfo(contentType: string | undefined, body: string): InfoDigit | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/dtmf') {
    const key = body.trim();
    return KEY.test(key) ? { digit: key.toUpperCase(), durationMs: DEFAULT_DURATION_MS } : null;
  }
  if (type !== 'application/dtmf-relay') return null;
  let digit: string | undefined;
  let durationMs = DEFAULT_DURATION_MS;
  for (const line of body.split(/\r?\n/)) {
    const m = /^\s*(signal|duration)\s*=\s*(\S+)\s*$/i.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    if (m[1].toLowerCase() === 'signal') digit = m[2];
    else {
      const d = Number.parseInt(m[2], 10);
      // A bogus duration must not open an endless window; ten seconds is already a long key press.
      if (Number.isFinite(d) && d > 0) durationMs = Math.min(d, 10_000);
    }
  }
  return digit !== undefined && KEY.test(digit) ? { digit: digit.toUpperCase(), durationMs } : null;
}
