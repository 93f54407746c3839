/**
 * Fuzz: thousands of mutated SIP messages over UDP and TCP against one engine.
 * The PRNG is seeded (FUZZ_SEED overrides the default) so a failure reproduces.
 * Afterwards the engine must still place and take a normal call, and every
 * transaction and dialog the garbage created must be gone once the timers ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineTarget, fuzzTcp, fuzzUdp, MAX_BYTES, SEED } from './fuzzer.js';
import { sdp, startEngine, uriOf, waitFor } from './helpers.js';

const UDP_MESSAGES = 8000;
const TCP_MESSAGES = 1500;
const TCP_FUZZERS = 4;

test(`fuzz: ${UDP_MESSAGES + TCP_MESSAGES * TCP_FUZZERS} mutated messages over UDP and TCP (seed ${SEED})`, async (t) => {
  const target = await startEngine({ maxMessageBytes: MAX_BYTES });
  const other = await startEngine();
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.message);
  };
  process.on('warning', onWarning);
  let invites = 0;
  let answerNext = false;
  target.on('invite', (req, res) => {
    invites++;
    // What a call layer would do: refuse some, answer others (nobody ACKs those: Timer L sends BYE).
    if (invites % 2 === 0 && !answerNext) res.send(486);
    else target.createUAS(req, res, { localSdp: sdp(7000) }).catch(() => undefined);
  });
  try {
    await fuzzUdp(engineTarget(target), UDP_MESSAGES);
    const closed = await Promise.all(Array.from({ length: TCP_FUZZERS }, (_, i) => fuzzTcp(engineTarget(target), TCP_MESSAGES, SEED + 1 + i)));
    const s = target.stats;
    t.diagnostic(`stats after fuzz: ${JSON.stringify(s)}, invites ${invites}, tcp closes ${closed.join(',')}`);
    assert.ok(s.malformed > 0, 'malformed counted');
    assert.ok(s.rejected400 > 0, 'some got 400');
    assert.ok(s.dropped > 0, 'some dropped');
    assert.ok(engineTarget(target).processed() >= 10_000, `only ${engineTarget(target).processed()} messages reached the engine`);
    assert.ok(invites > 0, 'valid INVITEs reached the application');
    assert.ok(closed.reduce((a, b) => a + b, 0) > 0, 'lying streams were closed');

    // The engine still works: a normal call each way, over both transports.
    for (const transport of ['udp', 'tcp'] as const) {
      const answered = new Promise<void>((resolve) =>
        other.once('invite', (req, res) => {
          other.createUAS(req, res, { localSdp: sdp(7002) }).then(() => resolve(), () => resolve());
        }),
      );
      const d = await target.createUAC(uriOf(other, '1000', transport), { localSdp: sdp(7000) });
      await answered;
      assert.equal(await d.modify(sdp(7000, 'sendonly')), sdp(7002));
      await d.destroy();
    }
    answerNext = true;
    for (const transport of ['udp', 'tcp'] as const) {
      const inbound = await other.createUAC(uriOf(target, '1', transport), { localSdp: sdp(7002) });
      assert.equal(inbound.remote.sdp, sdp(7000));
      await inbound.destroy();
    }
  } catch (err) {
    throw new Error(`fuzz failed with FUZZ_SEED=${SEED}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    await waitFor('fuzzed engine idle', () => target.stats.dialogs === 0 && target.stats.transactions === 0, 15_000);
    await waitFor('other engine idle', () => other.stats.dialogs === 0 && other.stats.transactions === 0, 15_000);
  } finally {
    await target.close();
    await other.close();
    process.off('warning', onWarning);
  }
  // A listener leak or a listener throw inside the engine surfaces as a process warning.
  assert.deepEqual(warnings, []);
});
