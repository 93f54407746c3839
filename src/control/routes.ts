/**
 * The routes of the control API and what each asks of `CaptureControl` (the
 * calls) or `RetentionControl` (holds and sweeps).
 * Matching is by path first, so a known path with the wrong method is a 405
 * that names the right one, and an unknown path a 404.
 */
import { ControlError } from './errors.js';
import type { ActiveCallView, CaptureControl } from './types.js';

export const ACTIONS = ['pause', 'resume', 'stop', 'opt-out'] as const;
export type Action = (typeof ACTIONS)[number];

export type Route =
  | { readonly kind: 'health' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'list' }
  | { readonly kind: 'get'; readonly callId: string }
  | { readonly kind: 'action'; readonly action: Action; readonly callId: string }
  | { readonly kind: 'holds' }
  | { readonly kind: 'hold'; readonly callId: string }
  | { readonly kind: 'release-hold'; readonly callId: string }
  | { readonly kind: 'sweep' }
  | { readonly kind: 'logs' }
  | { readonly kind: 'erase'; readonly callId: string };

export interface RouteMatch {
  readonly route: Route;
  /** The one method the path answers to. */
  readonly method: 'GET' | 'POST';
}

// A SIP Call-ID is short in practice; this only keeps absurd ones out of logs and the audit.
const CALL_ID_MAX = 256;

const isAction = (s: string): s is Action => (ACTIONS as readonly string[]).includes(s);

function callIdOf(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new ControlError('bad-request', 'call id is not valid percent-encoding');
  }
  if (id.length > CALL_ID_MAX) throw new ControlError('bad-request', `call id longer than ${CALL_ID_MAX} characters`);
  return id;
}

/** Undefined for a path that is no route; throws `bad-request` for a malformed call id. */
export function matchRoute(pathname: string): RouteMatch | undefined {
  const parts = pathname.split('/');
  // parts[0] is the empty string before the leading slash.
  if (parts[0] !== '' || parts.some((p, i) => i > 0 && p === '')) return undefined;
  const [, first, id, action, ...rest] = parts;
  if (rest.length > 0) return undefined;
  if (first === 'health' && id === undefined) return { route: { kind: 'health' }, method: 'GET' };
  if (first === 'metrics' && id === undefined) return { route: { kind: 'metrics' }, method: 'GET' };
  if (first === 'holds') return holdRoute(id, action);
  if (first === 'logs' && id === undefined) return { route: { kind: 'logs' }, method: 'GET' };
  if (first === 'recordings') return id !== undefined && action === 'erase' ? { route: { kind: 'erase', callId: callIdOf(id) }, method: 'POST' } : undefined;
  if (first === 'retention') return id === 'sweep' && action === undefined ? { route: { kind: 'sweep' }, method: 'POST' } : undefined;
  if (first !== 'calls') return undefined;
  if (id === undefined) return { route: { kind: 'list' }, method: 'GET' };
  if (action === undefined) return { route: { kind: 'get', callId: callIdOf(id) }, method: 'GET' };
  if (!isAction(action)) return undefined;
  return { route: { kind: 'action', action, callId: callIdOf(id) }, method: 'POST' };
}

/** `/holds`, `/holds/<call-id>` (place) and `/holds/<call-id>/release`. */
function holdRoute(id: string | undefined, action: string | undefined): RouteMatch | undefined {
  if (id === undefined) return { route: { kind: 'holds' }, method: 'GET' };
  if (action === undefined) return { route: { kind: 'hold', callId: callIdOf(id) }, method: 'POST' };
  return action === 'release' ? { route: { kind: 'release-hold', callId: callIdOf(id) }, method: 'POST' } : undefined;
}

export function getCall(control: CaptureControl, callId: string): { call: ActiveCallView } {
  const call = control.get(callId);
  if (!call) throw new ControlError('call-not-found', `no active call ${callId}`);
  return { call };
}

export type ActionResult = { call: ActiveCallView } | { call: ActiveCallView; discarded: number };

/** Runs one action; whatever the control throws (synchronously or not) comes back as a rejection. */
export async function runAction(control: CaptureControl, action: Action, callId: string, by: string): Promise<ActionResult> {
  switch (action) {
    case 'pause':
      return { call: control.pause(callId, by) };
    case 'resume':
      return { call: control.resume(callId, by) };
    case 'stop':
      return { call: await control.stop(callId, by) };
    case 'opt-out':
      return control.optOut(callId, by);
  }
}
