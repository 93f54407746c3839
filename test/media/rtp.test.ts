import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRtpView, parseRtp, writeRtpHeader } from '../../src/media/rtp.js';

function packet(bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

test('a written header parses back to the same fields', () => {
  const buf = Buffer.alloc(12 + 160, 0x55);
  const n = writeRtpHeader(buf, { marker: true, payloadType: 8, sequence: 0xfffe, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
  assert.equal(n, 12);
  const v = newRtpView();
  assert.equal(parseRtp(buf, v), true);
  assert.deepEqual(v, {
    version: 2,
    padding: false,
    extension: false,
    marker: true,
    payloadType: 8,
    sequence: 0xfffe,
    timestamp: 0xfffffff0,
    ssrc: 0xdeadbeef,
    payloadOffset: 12,
    payloadLength: 160,
  });
  writeRtpHeader(buf, { marker: false, payloadType: 101, sequence: 0x1ffff, timestamp: 2 ** 32 + 5, ssrc: 1 });
  assert.equal(parseRtp(buf, v), true);
  assert.equal(v.marker, false);
  assert.equal(v.payloadType, 101);
  assert.equal(v.sequence, 0xffff, 'sequence wraps to 16 bits');
  assert.equal(v.timestamp, 5, 'timestamp wraps to 32 bits');
});

test('CSRCs, a header extension and padding are skipped to find the payload', () => {
  // V=2 P=1 X=1 CC=2 | M=0 PT=0 | seq | ts | ssrc | 2 CSRC | ext(profile, len=1) + 1 word | payload 3 | padding 4
  const head = [0xb2, 0x00, 0x00, 0x07, 0, 0, 0, 9, 0, 0, 0, 1];
  const csrc = [1, 1, 1, 1, 2, 2, 2, 2];
  const ext = [0xbe, 0xde, 0x00, 0x01, 9, 9, 9, 9];
  const payload = [0xaa, 0xbb, 0xcc];
  const pad = [0, 0, 0, 4];
  const buf = packet([...head, ...csrc, ...ext, ...payload, ...pad]);
  const v = newRtpView();
  assert.equal(parseRtp(buf, v), true);
  assert.equal(v.padding, true);
  assert.equal(v.extension, true);
  assert.equal(v.payloadOffset, 12 + 8 + 8);
  assert.equal(v.payloadLength, 3);
  assert.deepEqual([...buf.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)], payload);
  // An empty payload is valid RTP (a keep-alive).
  assert.equal(parseRtp(Buffer.alloc(12, 0).fill(0x80, 0, 1), v), true);
  assert.equal(v.payloadLength, 0);
});

test('every length a packet lies about is caught', () => {
  const v = newRtpView();
  const valid = Buffer.alloc(20);
  writeRtpHeader(valid, { marker: false, payloadType: 0, sequence: 1, timestamp: 1, ssrc: 1 });
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['short header', valid.subarray(0, 11)],
    ['CSRC count past the end', Buffer.concat([packet([0x8f]), valid.subarray(1)])], // 15 CSRCs = 72 bytes > 20
    ['CSRC count one byte past the end', Buffer.concat([packet([0x83]), Buffer.alloc(22)])], // 3 CSRCs need 24 bytes
    ['extension header past the end', packet([0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde])],
    ['extension length past the end', packet([0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4])],
    ['padding longer than the payload', packet([0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 7, 9])],
    ['padding count zero', packet([0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 7, 0])],
    ['padding eating the CSRCs', packet([0xa1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 5])],
    ['version 0', Buffer.concat([packet([0x00]), valid.subarray(1)])],
    ['version 1', Buffer.concat([packet([0x40]), valid.subarray(1)])],
    ['version 3', Buffer.concat([packet([0xc0]), valid.subarray(1)])],
  ];
  for (const [name, buf] of cases) assert.equal(parseRtp(buf, v), false, name);
  // The boundaries themselves are valid.
  assert.equal(parseRtp(Buffer.concat([packet([0x83]), Buffer.alloc(23)]), v), true, 'CSRCs ending exactly at the end');
  assert.equal(v.payloadLength, 0);
  assert.equal(parseRtp(packet([0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x00]), v), true, 'empty extension');
  assert.equal(parseRtp(packet([0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 7, 3]), v), true, 'padding taking the whole payload');
  assert.equal(v.payloadLength, 0);
});
