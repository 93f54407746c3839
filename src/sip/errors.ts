import { RecgwError } from '../errors.js';

/** A SIP failure with the status to relay: 486 from the agent reaches the caller as 486. */
export class SipError extends RecgwError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, options?: ErrorOptions) {
    super(`SIP_${status}`, `${status} ${reason}`, options);
    this.status = status;
    this.reason = reason;
  }
}

/** The status and reason to answer with for `err`: its own for a SipError, 500 for anything else. */
export function failureOf(err: unknown): { status: number; reason: string } {
  return err instanceof SipError ? { status: err.status, reason: err.reason } : { status: 500, reason: 'Server Internal Error' };
}
