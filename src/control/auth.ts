/**
 * Bearer-token check for the control API. The presented token and the real one
 * are both hashed before the comparison, so `timingSafeEqual` always compares
 * 32 bytes with 32 bytes: neither the token's content nor its length leaks
 * through the time a refusal takes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Why a request was refused; safe to log (it never holds token material). */
export type AuthOutcome = 'ok' | 'missing' | 'malformed' | 'wrong-token';

/** Shorter tokens are guessable; the configuration should generate long random ones. */
export const MIN_TOKEN_LENGTH = 16;

const BEARER = /^Bearer +([^\s]+) *$/i;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function bearerCheck(token: string): (authorization: string | undefined) => AuthOutcome {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(`control token must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined || authorization === '') return 'missing';
    const m = BEARER.exec(authorization);
    if (!m?.[1]) return 'malformed';
    return timingSafeEqual(digest(m[1]), expected) ? 'ok' : 'wrong-token';
  };
}
