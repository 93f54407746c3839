import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorSdp, describeAudio, SdpError } from '../../src/sip/sdp.js';

const offer = [
  'v=0',
  'o=caller 53655765 2353687637 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 6000 RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=rtcp:6001',
  'a=sendrecv',
  '',
].join('\r\n');

test('describeAudio reads address, port, codecs in order, G.711 choice and telephone-event', () => {
  const d = describeAudio(offer);
  assert.equal(d.address, '198.51.100.7');
  assert.equal(d.port, 6000);
  assert.equal(d.rtcpPort, 6001);
  assert.deepEqual(d.codecs.map((c) => `${c.payloadType}/${c.name}`), ['8/PCMA', '0/PCMU', '101/telephone-event']);
  assert.equal(d.g711?.name, 'PCMA');
  assert.equal(d.telephoneEventPayloadType, 101);
  assert.equal(d.direction, 'sendrecv');
  assert.equal(d.onHold, false);
});

test('static payload types need no rtpmap', () => {
  const d = describeAudio('v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n');
  assert.equal(d.g711?.name, 'PCMU');
  assert.equal(d.g711?.payloadType, 0);
});

test('hold is seen by direction and by a 0.0.0.0 address', () => {
  assert.equal(describeAudio(offer.replace('a=sendrecv', 'a=sendonly')).onHold, true);
  assert.equal(describeAudio(offer.replace('a=sendrecv', 'a=inactive')).onHold, true);
  assert.equal(describeAudio(offer.replace(/c=IN IP4 198\.51\.100\.7/, 'c=IN IP4 0.0.0.0')).onHold, true);
});

test('anchorSdp puts our address and port in, keeps codecs, ptime, direction and versions', () => {
  const out = anchorSdp(offer.replace('a=sendrecv', 'a=sendonly'), { address: '192.0.2.10', port: 20002 });
  const d = describeAudio(out);
  assert.equal(d.address, '192.0.2.10');
  assert.equal(d.port, 20002);
  assert.equal(d.rtcpPort, undefined, 'the peer\'s RTCP port is not ours to advertise');
  assert.deepEqual(d.codecs.map((c) => c.payloadType), [8, 0, 101]);
  assert.equal(d.direction, 'sendonly');
  assert.match(out, /^o=caller 53655765 2353687637 IN IP4 192\.0\.2\.10$/m);
  assert.match(out, /^a=ptime:20$/m);
  assert.match(out, /^a=fmtp:101 0-15$/m);
  assert.doesNotMatch(out, /198\.51\.100\.7/);
});

test('anchorSdp keeps an RFC 2543 hold address so the other side sees the hold', () => {
  const out = anchorSdp(offer.replace('c=IN IP4 198.51.100.7', 'c=IN IP4 0.0.0.0'), { address: '192.0.2.10', port: 20002 });
  assert.equal(describeAudio(out).address, '0.0.0.0');
  assert.equal(describeAudio(out).port, 20002);
});

test('anchorSdp refuses other streams (port 0): only audio is anchored', () => {
  const withVideo = `${offer}m=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n`;
  const out = anchorSdp(withVideo, { address: '192.0.2.10', port: 20002 });
  assert.match(out, /^m=video 0 RTP\/AVP 96$/m);
});

test('garbage and audio-less SDP give SdpError', () => {
  for (const bad of ['', 'hello', 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n', 'v=0\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n']) {
    assert.throws(() => describeAudio(bad), (err: unknown) => err instanceof SdpError && err.code === 'SDP_INVALID', JSON.stringify(bad));
  }
});
