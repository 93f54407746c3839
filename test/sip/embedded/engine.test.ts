/**
 * Two embedded engines on loopback calling each other, over UDP and over TCP:
 * the call flows the call layer relies on, end to end.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedSipEngine } from '../../../src/sip/embedded/engine.js';
import type { Dialog, DialogEndReason, SipRequest } from '../../../src/sip/engine.js';
import { SipError } from '../../../src/sip/errors.js';
import { sdp, startEngine, uriOf, waitFor } from '../helpers.js';

const open: EmbeddedSipEngine[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function pair(): Promise<{ a: EmbeddedSipEngine; b: EmbeddedSipEngine }> {
  const a = await startEngine();
  const b = await startEngine();
  open.push(a, b);
  return { a, b };
}

async function settled(...engines: EmbeddedSipEngine[]): Promise<void> {
  await waitFor('dialogs and transactions back to 0', () => engines.every((e) => e.stats.dialogs === 0 && e.stats.transactions === 0));
}

/** b answers every INVITE after a 180; resolves with b's dialog. */
function answerOn(b: EmbeddedSipEngine): Promise<{ dialog: Dialog; req: SipRequest }> {
  return new Promise((resolve, reject) => {
    b.on('invite', (req, res) => {
      res.send(180);
      b.createUAS(req, res, { localSdp: sdp(5002) }).then((dialog) => resolve({ dialog, req }), reject);
    });
  });
}

for (const transport of ['udp', 'tcp'] as const) {
  describe(`two engines over ${transport}`, () => {
    test('INVITE/180/200/ACK, re-INVITE, INFO, REFER, BYE from the caller', async () => {
      const { a, b } = await pair();
      const answered = answerOn(b);
      const provisionals: number[] = [];
      const caller = await a.createUAC(uriOf(b, '1000', transport), {
        localSdp: sdp(5000),
        from: 'sip:+441234567@127.0.0.1',
        headers: { 'P-Asserted-Identity': '<sip:+449999@127.0.0.1>' },
        onProvisional: (r) => provisionals.push(r.status ?? 0),
      });
      const { dialog: callee, req } = await answered;
      assert.deepEqual(provisionals, [180]);
      assert.equal(req.calledNumber, '1000');
      assert.equal(req.callingNumber, '+449999');
      assert.equal(req.source.transport, transport);
      assert.equal(caller.type, 'uac');
      assert.equal(callee.type, 'uas');
      assert.equal(caller.callId, callee.callId);
      assert.equal(caller.local.tag, callee.remote.tag);
      assert.equal(caller.remote.tag, callee.local.tag);
      assert.equal(caller.remote.sdp, sdp(5002));
      assert.equal(callee.remote.sdp, sdp(5000));
      assert.equal(caller.createdBy.status, 200);
      assert.equal(a.stats.dialogs, 1);
      assert.equal(b.stats.dialogs, 1);

      const modified = new Promise<string>((resolve) =>
        callee.on('modify', (r, res) => {
          resolve(r.body);
          res.send(200, { body: sdp(5002, 'recvonly') });
        }),
      );
      const answer = await caller.modify(sdp(5000, 'sendonly'));
      assert.match(await modified, /a=sendonly/);
      assert.match(answer, /a=recvonly/);
      assert.equal(caller.local.sdp, sdp(5000, 'sendonly'));
      assert.equal(caller.remote.sdp, sdp(5002, 'recvonly'));
      assert.equal(callee.remote.sdp, sdp(5000, 'sendonly'));
      assert.equal(callee.local.sdp, sdp(5002, 'recvonly'));

      const infos: string[] = [];
      callee.on('info', (r, res) => {
        infos.push(r.body);
        res.send(200);
      });
      const info = await caller.request('INFO', { headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=5\r\nDuration=160\r\n' });
      assert.equal(info.status, 200);
      assert.deepEqual(infos, ['Signal=5\r\nDuration=160\r\n']);

      const referTo: string[] = [];
      callee.on('refer', (r, res) => {
        referTo.push(r.get('refer-to') ?? '');
        res.send(202);
      });
      const refer = await caller.request('REFER', { headers: { 'Refer-To': '<sip:2000@127.0.0.1>' } });
      assert.equal(refer.status, 202);
      assert.deepEqual(referTo, ['<sip:2000@127.0.0.1>']);

      const ended = new Promise<DialogEndReason>((resolve) => callee.on('destroy', (reason) => resolve(reason)));
      await caller.destroy();
      assert.equal(await ended, 'bye');
      assert.equal(caller.destroyed, true);
      assert.equal(callee.destroyed, true);
      await settled(a, b);
    });

    test('BYE from the callee reaches the caller; engine defaults answer REFER 603 and re-INVITE with the current SDP', async () => {
      const { a, b } = await pair();
      const answered = answerOn(b);
      const caller = await a.createUAC(uriOf(b, '1000', transport), { localSdp: sdp(5000) });
      const { dialog: callee } = await answered;
      const refer = await callee.request('REFER', { headers: { 'Refer-To': '<sip:2000@127.0.0.1>' } });
      assert.equal(refer.status, 603);
      const notify = await callee.request('NOTIFY', { headers: { Event: 'refer', 'Subscription-State': 'terminated' } });
      assert.equal(notify.status, 200);
      const options = await callee.request('OPTIONS');
      assert.equal(options.status, 200);
      assert.ok((options.get('allow') ?? '').includes('INVITE'));
      const answer = await callee.modify(sdp(5002, 'sendonly'));
      assert.equal(answer, sdp(5000));
      const ended = new Promise<[DialogEndReason, string | undefined]>((resolve) => caller.on('destroy', (reason, req) => resolve([reason, req?.method])));
      await callee.destroy();
      assert.deepEqual(await ended, ['bye', 'BYE']);
      // A second destroy resolves at once and sends nothing.
      await callee.destroy();
      await assert.rejects(caller.request('INFO'), (e: unknown) => e instanceof SipError && e.status === 481);
      await settled(a, b);
    });

    test('CANCEL before the answer: caller gets 487, callee sees req.canceled and the cancel event', async () => {
      const { a, b } = await pair();
      let calleeReq: SipRequest | undefined;
      let cancelEvents = 0;
      b.on('invite', (req, res) => {
        calleeReq = req;
        req.on('cancel', () => cancelEvents++);
        res.send(180);
      });
      const ac = new AbortController();
      const call = a.createUAC(uriOf(b, '1000', transport), { localSdp: sdp(5000), signal: ac.signal, onProvisional: () => ac.abort() });
      await assert.rejects(call, (e: unknown) => e instanceof SipError && e.status === 487);
      await waitFor('cancel event', () => cancelEvents === 1);
      assert.equal(calleeReq?.canceled, true);
      await settled(a, b);
    });

    test('abort before any provisional waits for one, then cancels', async () => {
      const { a, b } = await pair();
      const ac = new AbortController();
      let canceled = false;
      b.on('invite', (req, res) => {
        // The engine's 100 Trying is already out: that is a provisional, so the CANCEL may follow it.
        ac.abort();
        req.on('cancel', () => {
          canceled = true;
        });
        void res;
      });
      await assert.rejects(
        a.createUAC(uriOf(b, '1000', transport), { localSdp: sdp(5000), signal: ac.signal }),
        (e: unknown) => e instanceof SipError && e.status === 487,
      );
      await waitFor('callee canceled', () => canceled);
      await settled(a, b);
    });

    test('486 from the callee is relayed as SipError(486)', async () => {
      const { a, b } = await pair();
      b.on('invite', (_req, res) => res.send(486));
      await assert.rejects(a.createUAC(uriOf(b, '1000', transport), { localSdp: sdp(5000) }), (e: unknown) => {
        assert.ok(e instanceof SipError);
        assert.equal(e.status, 486);
        assert.equal(e.reason, 'Busy Here');
        assert.equal(e.code, 'SIP_486');
        return true;
      });
      await settled(a, b);
    });

    test('408 when the callee never answers (Timer B)', async () => {
      const { a, b } = await pair();
      let late: (() => void) | undefined;
      b.on('invite', (_req, res) => {
        late = () => res.send(480);
      });
      await assert.rejects(a.createUAC(uriOf(b, '1000', transport), { localSdp: sdp(5000) }), (e: unknown) => e instanceof SipError && e.status === 408);
      await settled(a);
      // The callee still owes an answer; once it gives one, its transaction ends too (Timer H, no ACK comes).
      assert.equal(b.stats.transactions, 1);
      late?.();
      await settled(b);
    });

    test('glare: re-INVITEs crossing each other both get 491', async () => {
      const { a, b } = await pair();
      const answered = answerOn(b);
      const caller = await a.createUAC(uriOf(b, '1000', transport), { localSdp: sdp(5000) });
      const { dialog: callee } = await answered;
      const results = await Promise.allSettled([caller.modify(sdp(5000, 'sendonly')), callee.modify(sdp(5002, 'sendonly'))]);
      const statuses = results.map((r) => (r.status === 'rejected' && r.reason instanceof SipError ? r.reason.status : 200));
      // Both offers were out before either arrived, so at least one side answers the other with 491.
      assert.ok(statuses.includes(491), `expected a 491, got ${statuses.join(',')}`);
      await caller.destroy();
      await settled(a, b);
    });
  });
}

test('close() ends dialogs without BYE, says engine-closed and rejects pending calls', async () => {
  const a = await startEngine();
  const b = await startEngine();
  open.push(a, b);
  const answered = answerOn(b);
  const caller = await a.createUAC(uriOf(b, '1000', 'udp'), { localSdp: sdp(5000) });
  const { dialog: callee } = await answered;
  const reasons: DialogEndReason[] = [];
  caller.on('destroy', (r) => reasons.push(r));
  let calleeEnded = false;
  callee.on('destroy', () => {
    calleeEnded = true;
  });
  const c = await startEngine();
  open.push(c);
  c.on('invite', () => undefined);
  const pending = a.createUAC(uriOf(c, '1', 'udp'), { localSdp: sdp(5004) });
  await waitFor('INVITE reached c', () => c.stats.received > 0);
  await a.close();
  await a.close();
  assert.deepEqual(reasons, ['engine-closed']);
  await assert.rejects(pending, (e: unknown) => e instanceof SipError && e.status === 503);
  assert.equal(a.stats.dialogs, 0);
  assert.equal(a.stats.transactions, 0);
  // No BYE went out: the callee's dialog is still up.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calleeEnded, false);
  assert.equal(b.stats.dialogs, 1);
});
