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
