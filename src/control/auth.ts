/**
 * Bearer-token check for the control API. The presented token and the real one
 * are both hashed before the comparison, so `timingSafeEqual` always compares
 * 32 bytes with 32 bytes: neither the token's content nor its length leaks
 * through the time a refusal takes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ControlRole } from '../config/types.js';
import type { Route } from './routes.js';

/** Why a request was refused; safe to log (it never holds token material). */
export type AuthOutcome = 'ok' | 'missing' | 'malformed' | 'wrong-token';

/** Shorter tokens are guessable; the configuration should generate long random ones. */
export const MIN_TOKEN_LENGTH = 16;

const BEARER = /^Bearer +([^\s]+) *$/i;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Who a request is from: the main token is `admin`, every other one a named client with its role. */
export interface Principal {
  readonly name: string;
  readonly role: 'admin' | ControlRole;
}

export type AuthResult = { readonly outcome: 'ok'; readonly principal: Principal } | { readonly outcome: Exclude<AuthOutcome, 'ok'> };

/**
 * Checks a request's token against every principal's. Each comparison is
 * made, whichever matches, so the time a check takes says nothing about
 * which token, if any, was close.
 */
export function bearerAuth(principals: readonly (Principal & { readonly token: string })[]): (authorization: string | undefined) => AuthResult {
  const known = principals.map((p) => {
    if (p.token.length < MIN_TOKEN_LENGTH) throw new RangeError(`control token of ${p.name} must be at least ${MIN_TOKEN_LENGTH} characters`);
    return { principal: { name: p.name, role: p.role }, expected: digest(p.token) };
  });
  return (authorization) => {
    if (authorization === undefined || authorization === '') return { outcome: 'missing' };
    const m = BEARER.exec(authorization);
    if (!m?.[1]) return { outcome: 'malformed' };
    const presented = digest(m[1]);
    let found: Principal | undefined;
    for (const k of known) if (timingSafeEqual(presented, k.expected) && found === undefined) found = k.principal;
    return found ? { outcome: 'ok', principal: found } : { outcome: 'wrong-token' };
  };
}

/** Which roles may take each route; `admin` may take all. */
const ROUTE_ROLES: Readonly<Record<Route['kind'], readonly ControlRole[]>> = {
  health: ['operator', 'records', 'monitor'],
  metrics: ['operator', 'records', 'monitor'],
  list: ['operator'],
  get: ['operator'],
  action: ['operator'],
  logs: ['operator'],
  holds: ['records'],
  hold: ['records'],
  'release-hold': ['records'],
  sweep: ['records'],
  erase: ['records'],
};

export function mayTake(principal: Principal, route: Route['kind']): boolean {
  return principal.role === 'admin' || ROUTE_ROLES[route].includes(principal.role);
}
