/**
 * The value forms several sections share (dialled numbers, keypad keys, SIP
 * URIs), each read the same way everywhere so one spelling means one thing.
 */
import type { Checker, Path } from './check.js';

export const DIALLED = /^[0-9+*#]+$/;
export const KEY = /^[0-9*#]$/;
export const KEY_SEQUENCE = /^[0-9*#]{1,8}$/;
/** sip:[user@]host[:port][;params][?headers], host a name, an IPv4 literal or a bracketed IPv6 literal. */
export const SIP_URI = /^sips?:(?:[^@\s<>"]+@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(?:[;?][^\s<>"]*)?$/i;
/** sip:host[:port][;params]: no user part, because the dialled number becomes it. */
const SIP_HOST_URI = /^sip:(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(?:;[A-Za-z0-9-]+(?:=[A-Za-z0-9.-]+)?)*$/i;

/** YAML reads `1000` as a number; dialled numbers and keys are text, so digits are taken as written. */
export function asText(v: unknown): unknown {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v;
}

export function dialled(c: Checker, v: unknown, path: Path, what = 'a dialled number'): string {
  const s = asText(v);
  if (typeof s === 'string' && DIALLED.test(s)) return s;
  c.fail(path, v === undefined ? `is required: ${what} (digits, +, *, #)` : `must be ${what}: digits, +, *, # only`);
  return '';
}

function portOk(m: RegExpExecArray | null): boolean {
  const port = m?.[1] === undefined ? 5060 : Number(m[1]);
  return m !== null && port >= 1 && port <= 65535;
}

export function sipUri(c: Checker, v: unknown, path: Path): string {
  const s = c.string(v, path, 'a sip: URI');
  if (s === '') return s;
  if (!portOk(SIP_URI.exec(s))) c.fail(path, 'must be a sip: URI (sip:user@host[:port][;transport=tcp])');
  return s;
}

export function sipHostUri(c: Checker, v: unknown, path: Path): string {
  const s = c.string(v, path, 'a sip: URI');
  if (s === '') return s;
  if (!portOk(SIP_HOST_URI.exec(s))) c.fail(path, 'must be a sip: URI without a user part (sip:host[:port][;transport=tcp]); the dialled number becomes the user');
  return s;
}

/**
 * A list of call targets, each a number or a sip: URI (payment lines,
 * unrecorded extensions); absent is empty.
 */
export function targetList(c: Checker, v: unknown, path: Path): readonly string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    c.fail(path, 'must be a list of numbers (digits, +, *, #) or sip: URIs');
    return [];
  }
  return v.map((entry, i) => {
    const s = asText(entry);
    if (typeof s === 'string' && DIALLED.test(s)) return s;
    if (typeof s === 'string' && portOk(SIP_URI.exec(s))) return s;
    c.fail([...path, i], 'must be a number (digits, +, *, #) or a sip: URI (sip:user@host[:port])');
    return '';
  });
}

/** A key sequence such as `*7`; unquoted, YAML reads # as a comment and * as an alias, the usual cause of a bad one. */
export function keys(c: Checker, v: unknown, path: Path, pattern: RegExp, what: string): string {
  const s = asText(v);
  if (typeof s === 'string' && pattern.test(s)) return s;
  c.fail(path, `${v === undefined ? 'is required' : 'must be'} ${what} (quote * and # in YAML)`);
  return '';
}
