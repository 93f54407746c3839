/**
 * The whole gateway under mutated SIP (the engine's fuzzer, aimed at the
 * gateway's port, where valid INVITEs reach routing and calls): afterwards the
 * process is alive, a normal SIPp call still works and is captured byte for
 * byte, and no call, dialog, transaction or RTP port is left behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PCMA_SILENCE } from '../../src/media/g711.js';
import { assertHoldsExactly, capturedAudio, pcapAudio, startCall } from '../helpers/calls.js';
import { eventually, startTestGateway } from '../helpers/gateway.js';
import { engineTarget, fuzzTcp, fuzzUdp, SEED } from '../sip/fuzzer.js';

const UDP_MESSAGES = 8000;
const TCP_MESSAGES = 1500;
const TCP_FUZZERS = 3;

test(`gateway fuzz: ${UDP_MESSAGES + TCP_MESSAGES * TCP_FUZZERS} mutated SIP messages over UDP and TCP, then a clean call (seed ${SEED})`, async (t) => {
  // The fuzzer dials random numbers below 10 000: a hundred lines let some of its INVITEs become calls.
  const gw = await startTestGateway({
    lines: (agentPort, file) =>
      ['1000', ...Array.from({ length: 100 }, (_, i) => String(i))].map((number) => ({
        number,
        name: `line-${number}`,
        target: `sip:queue@127.0.0.1:${agentPort}`,
        record: true,
        announcement: { file, mode: 'early' },
      })),
  });
  t.after(() => gw.stop());
  const { engine, gateway } = gw.running;
  const target = engineTarget(engine);
  await fuzzUdp(target, UDP_MESSAGES);
  await Promise.all(Array.from({ length: TCP_FUZZERS }, (_, i) => fuzzTcp(target, TCP_MESSAGES, SEED + 100 + i)));
  t.diagnostic(`engine ${JSON.stringify(engine.stats)}, gateway ${JSON.stringify(gateway.stats)}`);
  assert.ok(target.processed() >= 10_000, `${target.processed()} messages reached the gateway`);
  assert.ok(engine.stats.malformed > 0 && engine.stats.rejected400 > 0, 'malformed input counted and answered 400');
  assert.ok(gateway.stats.rejectedNoLine > 0, 'fuzzed INVITEs reached routing');
  assert.ok(gateway.stats.callsStarted > 0, 'fuzzed INVITEs became calls');

  // Calls the fuzz started (INVITEs to the line with an agent queue that is not there) end on their timers.
  await eventually('fuzzed calls ended', () => gateway.activeCalls.size === 0, 30_000);

  const pcap = pcapAudio();
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 8000 } });
  const { summary } = await finished;
  assert.equal(summary.reason, 'caller-bye');
  assertHoldsExactly(capturedAudio(gw.writer, summary.callId, 'caller'), pcap.audio, PCMA_SILENCE);

  await eventually(
    'nothing left allocated',
    () => gateway.activeCalls.size === 0 && gateway.allocator.inUse === 0 && engine.stats.dialogs === 0 && engine.stats.transactions === 0,
    30_000,
  );
});
