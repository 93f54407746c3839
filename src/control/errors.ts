import { RecgwError } from '../errors.js';

/**
 * Failures of the control API, each with the HTTP status it is answered with.
 * The code is the API's contract (clients branch on it); the message is for people.
 * - `call-not-found`: no active call has that id;
 * - `not-recorded`: the call is carried without capture, so there is nothing to pause or stop;
 * - `already-paused` / `not-paused`: pause on a paused call, resume on a running one;
 * - `stopped`: capture of that call has already been stopped (or opted out of);
 * - `bad-request`: a malformed body, field or call id;
 * - `unauthorized`: no bearer token, or the wrong one;
 * - `forbidden`: a valid token whose role does not take that route;
 * - `not-found` / `method-not-allowed`: no such route, or not with that method;
 * - `payload-too-large`: a body over the limit;
 * - `recording-not-found`: the store holds nothing of that call (a hold placed on a typo would keep nothing);
 * - `hold-not-found`: the call has no hold to release;
 * - `held`, `call-active`, `not-uploaded`: an erasure refused (a hold, a call still up, segments still in the spool);
 * - `store-failed`: the recording store refused or could not be reached;
 * - `upgrade-required`: `/logs` asked for without a WebSocket upgrade;
 * - `too-many-followers`: the log stream has as many followers as it takes;
 * - `no-store`: holds and sweeps need the recording pipeline's store, and this gateway has none;
 * - `internal`: anything else; its message never says more than that.
 */
export const CONTROL_ERROR_STATUS = {
  'call-not-found': 404,
  'not-recorded': 409,
  'already-paused': 409,
  'not-paused': 409,
  stopped: 409,
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'payload-too-large': 413,
  'recording-not-found': 404,
  'hold-not-found': 404,
  held: 409,
  'call-active': 409,
  'not-uploaded': 409,
  'no-store': 501,
  'store-failed': 503,
  'too-many-followers': 503,
  'upgrade-required': 426,
  internal: 500,
} as const;

export type ControlErrorCode = keyof typeof CONTROL_ERROR_STATUS;

export class ControlError extends RecgwError {
  declare readonly code: ControlErrorCode;
  readonly status: number;

  constructor(code: ControlErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = CONTROL_ERROR_STATUS[code];
  }
}

export function isControlError(err: unknown): err is ControlError {
  return err instanceof ControlError;
}
