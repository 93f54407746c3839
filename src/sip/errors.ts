import { RecgwError } from '../errors.js';

/** A SIP failure with the status to relay: 486 from the agent reaches the caller as 486. */
export class SipError extends RecgwError {
  readonly status: number;
  readonly reason: string;
  /**
   * Made here, not received: the far end never answered (408 after the
   * transaction timed out) or could not be reached (503). A far end that is
   * down reads differently to on-call staff than one that said busy.
   */
  readonly local: boolean;
  constructor(status: number, reason: string, options?: ErrorOptions & { local?: boolean }) {
    super(`SIP_${status}`, `${status} ${reason}`, options);
    this.status = status;
    this.reason = reason;
    this.local = options?.local ?? false;
  }
}

/** The status and reason to answer with for `err`: its own for a SipError, 500 for anything else. */
export function failureOf(err: unknown): { status: number; reason: string } {
  return err instanceof SipError ? { status: err.status, reason: err.reason } : { status: 500, reason: 'Server Internal Error' };
}
