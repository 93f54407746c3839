/**
 * Who the operator of a segment is: the agent who answered, read from the
 * agent side's final response — P-Asserted-Identity user part, else the
 * Contact, else the To user part (DESIGN: the default rule).
 */
import type { SipMessageView } from '../sip/engine.js';

const USER = /<?sips?:([^@;>]+)@/i;

export function userOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = USER.exec(value);
  return m?.[1] !== undefined ? decodeURIComponent(m[1]) : undefined;
}

export function operatorOf(answer: SipMessageView): string | undefined {
  return userOf(answer.get('p-asserted-identity')) ?? userOf(answer.get('contact')) ?? userOf(answer.get('to'));
}

/** The identity a mid-call request asserts (re-INVITE, UPDATE, INVITE with Replaces): P-Asserted-Identity only. */
export function assertedOperatorOf(req: SipMessageView): string | undefined {
  return userOf(req.get('p-asserted-identity'));
}
