import assert from 'node:assert/strict';
import { test } from 'node:test';
import { operatorOf } from '../../src/call/operator.js';
import type { SipMessageView } from '../../src/sip/engine.js';

function answer(headers: Record<string, string>): SipMessageView {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    type: 'response', status: 200, reason: 'OK', body: '', callId: 'x', calledNumber: '', callingNumber: '',
    get: (n: string) => lower[n.toLowerCase()],
    has: (n: string) => n.toLowerCase() in lower,
    toString: () => '',
  };
}

test('the operator is the P-Asserted-Identity user, else Contact, else To', () => {
  assert.equal(operatorOf(answer({ 'P-Asserted-Identity': '"Ann" <sip:agent42@pbx.example>', Contact: '<sip:phone7@10.0.0.7>', To: '<sip:queue@pbx>' })), 'agent42');
  assert.equal(operatorOf(answer({ Contact: '<sip:phone7@10.0.0.7:5060;transport=tcp>', To: '<sip:queue@pbx>;tag=1' })), 'phone7');
  assert.equal(operatorOf(answer({ To: '<sip:queue@pbx>;tag=1' })), 'queue');
  assert.equal(operatorOf(answer({})), undefined);
});
