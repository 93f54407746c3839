import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentLengthOf, frameDatagram, StreamFramer } from '../../../src/sip/embedded/framing.js';

const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=é\r\n';
const withBody = `INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const compact = 'OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bK2\r\nl: 0\r\n\r\n';
const noLength = 'BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK3\r\n\r\n';
const stream = Buffer.from(`\r\n\r\n${withBody}\r\n\r\n${compact}${noLength}`);

test('a TCP stream split at every byte boundary yields the same three messages', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const framer = new StreamFramer(64 * 1024);
    const a = framer.push(stream.subarray(0, cut));
    const b = framer.push(stream.subarray(cut));
    assert.equal(a.error, undefined);
    assert.equal(b.error, undefined);
    const frames = [...a.frames, ...b.frames];
    assert.equal(frames.length, 3, `cut at ${cut}`);
    assert.equal(frames[0]?.body.toString('utf8'), body);
    assert.match(frames[0]?.head ?? '', /^INVITE /);
    assert.match(frames[1]?.head ?? '', /^OPTIONS /);
    assert.equal(frames[1]?.body.length, 0);
    assert.match(frames[2]?.head ?? '', /^BYE /);
    assert.equal(framer.buffered, 0);
  }
});

test('byte-by-byte delivery and many messages in one chunk', () => {
  const framer = new StreamFramer(64 * 1024);
  let n = 0;
  for (const byte of stream) n += framer.push(Buffer.from([byte])).frames.length;
  assert.equal(n, 3);
  const many = Buffer.concat(Array.from({ length: 50 }, () => stream));
  assert.equal(new StreamFramer(64 * 1024).push(many).frames.length, 150);
});

test('a lying or oversized stream fails and stays failed', () => {
  const cases: Array<[string, string]> = [
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: abc\r\n\r\n', 'Bad Content-Length'],
    ['INVITE sip:a@b SIP/2.0\r\nl: -5\r\n\r\n', 'Negative Content-Length'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: 3\r\nl: 4\r\n\r\nabcd', 'Conflicting Content-Length'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n', 'Message too large'],
    [`INVITE sip:a@b SIP/2.0\r\nX-Pad: ${'x'.repeat(2000)}`, 'Header block too large'],
    [`INVITE sip:a@b SIP/2.0\r\nX-Pad: ${'x'.repeat(2000)}\r\n\r\n`, 'Header block too large'],
  ];
  for (const [text, error] of cases) {
    const framer = new StreamFramer(1024);
    const r = framer.push(Buffer.from(text));
    assert.equal(r.error, error, text.slice(0, 60));
    assert.equal(framer.push(Buffer.from(compact)).error, 'stream already failed');
  }
  // Messages before the bad one are still delivered.
  const r = new StreamFramer(1024).push(Buffer.from(`${compact}INVITE sip:a@b SIP/2.0\r\nl: x\r\n\r\n`));
  assert.equal(r.frames.length, 1);
  assert.equal(r.error, 'Bad Content-Length');
});

test('datagrams: keep-alive ignored, extra bytes cut, short body and bad length flagged', () => {
  assert.equal(frameDatagram(Buffer.from('\r\n\r\n')), undefined);
  const extra = frameDatagram(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 3\r\n\r\nabcdef'));
  assert.equal(extra?.body.toString(), 'abc');
  assert.equal(extra?.problem, undefined);
  assert.equal(frameDatagram(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 30\r\n\r\nabc'))?.problem, 'Content-Length exceeds body');
  assert.equal(frameDatagram(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 3x\r\n\r\nabc'))?.problem, 'Bad Content-Length');
  assert.equal(frameDatagram(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nVia: x'))?.problem, 'Missing end of headers');
  assert.equal(frameDatagram(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\n\r\nrest'))?.body.toString(), 'rest');
  assert.deepEqual(contentLengthOf('X sip:a SIP/2.0\r\nContent-length : 12'), { length: 12 });
});
