/**
 * RTP injection: a second sender aiming at a leg's port, from another address
 * or from another port of the peer's address, is neither relayed nor captured.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { writeRtpHeader } from '../../src/media/rtp.js';
import { assertHoldsExactly, capturedAudio, pcapAudio, startCall } from '../helpers/calls.js';
import { startTestGateway } from '../helpers/gateway.js';

function injector(address: string, targetPort: number): { socket: Socket; sent: () => number; stop: () => void } {
  const socket = createSocket('udp4');
  let sent = 0;
  let seq = 1;
  const packet = Buffer.alloc(12 + 240, 0x42);
  socket.bind(0, address);
  const timer = setInterval(() => {
    writeRtpHeader(packet, { marker: false, payloadType: 8, sequence: seq++ & 0xffff, timestamp: seq * 240, ssrc: 0x0bad0bad });
    socket.send(packet, targetPort, '127.0.0.1', () => sent++);
  }, 20);
  return { socket, sent: () => sent, stop: () => (clearInterval(timer), socket.close()) };
}

test('RTP from an unexpected source is dropped: not relayed, not captured', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.stop());
  const pcap = pcapAudio();
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 8000 } });
  const call = await started.call;
  await new Promise<void>((resolve) => call.once('answered', resolve));
  await new Promise((r) => setTimeout(r, 500)); // both legs latched by now
  const callerPort = call.callerLeg?.localPort ?? 0;
  const agentPort = call.agentLeg?.localPort ?? 0;
  const injectors = [
    injector('127.0.0.2', callerPort), // another host
    injector('127.0.0.1', callerPort), // the caller's host, another port
    injector('127.0.0.2', agentPort),
  ];
  await new Promise((r) => setTimeout(r, 2000));
  for (const i of injectors) i.stop();

  const { summary } = await started.finished;
  const { caller: callerLeg, agent: agentLeg } = summary.legs;
  assert.ok(callerLeg && agentLeg);
  const [toCaller1, toCaller2, toAgent] = injectors.map((i) => i.sent());
  assert.ok((toCaller1 ?? 0) > 20 && (toAgent ?? 0) > 20, 'the injectors really sent');
  assert.ok(callerLeg.droppedSource >= (toCaller1 ?? 0) + (toCaller2 ?? 0) - 2, `caller leg dropped the injected packets (${callerLeg.droppedSource})`);
  assert.ok(agentLeg.droppedSource >= (toAgent ?? 0) - 1, `agent leg dropped the injected packets (${agentLeg.droppedSource})`);
  assert.equal(callerLeg.relayed, pcap.packets.length, 'only the caller\'s own packets were relayed');
  assert.equal(agentLeg.relayed, pcap.packets.length, 'only the agent\'s own packets were relayed');
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'caller'), pcap.audio, PCMA_SILENCE);
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'agent'), pcap.audio, PCMA_SILENCE);
});
