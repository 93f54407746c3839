import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMessage, replyBasis, tagOf, uriOf } from '../../../src/sip/embedded/message.js';
import { frameDatagram } from '../../../src/sip/embedded/framing.js';

const valid = [
  'INVITE sip:+4412345@gw.example;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport',
  'Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKdef',
  'Max-Forwards: 70',
  'From: "Alice, A." <sip:+4470000@trunk.example>;tag=f1',
  't: <sip:+4412345@gw.example>',
  'Call-ID: abc@10.0.0.1',
  'CSeq: 7 INVITE',
  'P-Asserted-Identity: <sip:+4471111@trunk.example>',
  'Content-Type: application/sdp',
  'Content-Length: 5',
  '',
  'v=0\r\n',
].join('\r\n');

function read(text: string): ReturnType<typeof readMessage> {
  const frame = frameDatagram(Buffer.from(text));
  assert.ok(frame);
  return readMessage(frame);
}

test('a valid INVITE exposes what transactions and the call layer need', () => {
  const r = read(valid);
  assert.ok(r.ok);
  const m = r.msg;
  assert.equal(m.type, 'request');
  assert.equal(m.method, 'INVITE');
  assert.equal(m.callId, 'abc@10.0.0.1');
  assert.equal(m.via.branch, 'z9hG4bKabc');
  assert.equal(m.via.sentBy, '10.0.0.1:5060');
  assert.deepEqual(m.cseq, { seq: 7, method: 'INVITE' });
  assert.equal(m.fromTag, 'f1');
  assert.equal(m.toTag, undefined);
  assert.equal(m.calledNumber, '+4412345');
  assert.equal(m.callingNumber, '+4471111');
  assert.equal(m.body, 'v=0\r\n');
  assert.equal(m.get('TO'), '<sip:+4412345@gw.example>');
  assert.equal(m.has('p-asserted-identity'), true);
  assert.ok(m.get('via')?.includes('10.0.0.2'));
  assert.equal(m.toString(), valid);
});

test('missing mandatory headers: 400 when a response can be formed, else dropped', () => {
  for (const header of ['Via', 'From', 't', 'Call-ID', 'CSeq']) {
    const text = valid.split('\r\n').filter((l) => !l.startsWith(`${header}:`)).join('\r\n');
    const r = read(text);
    assert.equal(r.ok, false, header);
    if (!r.ok) {
      assert.equal(r.reason, 'Missing Mandatory Header');
      // Without any one of them there is nothing to address a response with.
      assert.equal(r.basis, undefined, header);
    }
  }
});

test('each kind of defect has its reason and a 400 basis', () => {
  const cases: Array<[string, string]> = [
    [valid.replace('CSeq: 7 INVITE', 'CSeq: 7 BYE'), 'CSeq Method Mismatch'],
    [valid.replace('CSeq: 7 INVITE', 'CSeq: seven INVITE'), 'Bad CSeq'],
    [valid.replace('INVITE sip:+4412345@gw.example;user=phone SIP/2.0', 'INVITE sip:+4412345@gw.example SIP/3.0'), 'Bad Request Line'],
    [valid.replace('INVITE sip:', 'INVITE http:'), 'Bad Request Line'],
    [valid.replace('Content-Length: 5', 'Content-Length: 400'), 'Content-Length exceeds body'],
    [valid.replace('Content-Length: 5', 'Content-Length: four'), 'Bad Content-Length'],
    [valid.replace('Max-Forwards: 70', 'this line has no colon'), 'Unparsable Message'],
    [valid.replace(';branch=z9hG4bKabc', ''), 'Bad Via'],
    [valid.replace('Call-ID: abc@10.0.0.1', 'Call-ID: abc@10.0.0.1\r\nCall-ID: other'), 'Bad Call-ID'],
  ];
  for (const [text, reason] of cases) {
    const r = read(text);
    assert.equal(r.ok, false, reason);
    if (!r.ok) {
      assert.equal(r.reason, reason);
      // Without a usable Via, Call-ID or CSeq there is no response to form.
      if (reason === 'Bad Via' || reason === 'Bad Call-ID' || reason === 'Bad CSeq') {
        assert.equal(r.basis, undefined, reason);
        continue;
      }
      assert.ok(r.basis, `basis for ${reason}`);
      assert.equal(r.basis.callId, 'abc@10.0.0.1');
    }
  }
});

test('responses and ACKs never get a 400', () => {
  const response = 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nbroken line\r\n\r\n';
  const r = read(response);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.basis, undefined);
  assert.equal(replyBasis('ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 ACK'), undefined);
  const ok = read('SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n');
  assert.ok(ok.ok);
  assert.equal(ok.msg.status, 180);
  assert.equal(ok.msg.reason, 'Ringing');
  assert.equal(ok.msg.toTag, '2');
});

test('tags and URIs in name-addr and addr-spec form', () => {
  assert.equal(tagOf('"A;tag=x" <sip:a@b;tag=no>;tag=yes'), 'yes');
  assert.equal(tagOf('<sip:a@b;tag=no>'), undefined);
  assert.equal(tagOf('sip:a@b;tag=z'), 'z');
  assert.equal(uriOf('"A" <sip:a@b:5070;transport=tcp>;tag=1'), 'sip:a@b:5070;transport=tcp');
  assert.equal(uriOf('sip:a@b;tag=1'), 'sip:a@b');
});
