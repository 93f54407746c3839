/**
 * Retention through the running gateway: a SIPp call recorded into the fs
 * store, a hold placed and released over the control API, sweeps run on
 * demand and by the schedule, and every step in the audit log.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyAuditLog, type AuditRecord } from '../../src/access/audit.js';
import { streamToBuffer } from '../../src/access/export.js';
import { AUDIT_PREFIX } from '../../src/recording/layout.js';
import type { SweepReport } from '../../src/retention/sweep.js';
import type { RetentionView } from '../../src/retention/sweeper.js';
import { FsStore } from '../../src/storage/fs.js';
import { startCall } from '../helpers/calls.js';
import { controlApi, startTestGateway, type ApiReply } from '../helpers/gateway.js';

const DAY = 86_400_000;

/** The store's keys but the audit log's copy (the gateway's own record, never swept). */
async function keysOf(store: FsStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('')) if (!o.key.startsWith(AUDIT_PREFIX)) keys.push(o.key);
  return keys;
}

test('a recorded call outlives its retention only under a hold: placed, swept, released, swept, all audited', async (t) => {
  let offset = 0;
  const gw = await startTestGateway({ pipeline: true, retention: { sweep: 'off' }, now: () => new Date(Date.now() + offset) });
  t.after(() => gw.stop());
  const { finished } = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 2000 } });
  const { summary } = await finished;
  assert.equal(await gw.running.pipeline?.uploader.drain(20_000), true);
  const store = new FsStore({ dir: gw.storeDir });
  const recorded = await keysOf(store);
  assert.equal(recorded.length, 4, 'two legs and two manifests');

  // A hold on a call the store does not have would keep nothing: refused.
  const typo = await controlApi(gw, 'POST', '/holds/no-such-call', { body: { reason: 'complaint C-1', by: 'records' } });
  assert.equal(typo.status, 404);
  assert.equal((typo.body['error'] as { code: string }).code, 'recording-not-found');
  const noReason = await controlApi(gw, 'POST', `/holds/${encodeURIComponent(summary.callId)}`, { body: { by: 'records' } });
  assert.equal(noReason.status, 400);

  const placed = await controlApi(gw, 'POST', `/holds/${encodeURIComponent(summary.callId)}`, { body: { reason: 'complaint C-1042', by: 'records' } });
  assert.equal(placed.status, 200, JSON.stringify(placed.body));
  assert.equal(placed.body['objects'], 4);
  const listed = await controlApi(gw, 'GET', '/holds');
  assert.deepEqual((listed.body['holds'] as { callId: string; reason: string }[]).map((h) => [h.callId, h.reason]), [[summary.callId, 'complaint C-1042']]);

  // 91 days on, the line's 90 have passed.
  offset = 91 * DAY;
  const heldSweep = await controlApi(gw, 'POST', '/retention/sweep', { body: { by: 'records' } });
  assert.equal(heldSweep.status, 200);
  assert.deepEqual(
    ((r: SweepReport) => [r.examined, r.held, r.deleted])(heldSweep.body['report'] as SweepReport),
    [1, 1, 0],
  );
  assert.deepEqual((await keysOf(store)).filter((k) => !k.startsWith('holds/')).sort(), [...recorded].sort(), 'held: every object kept');

  const released = await controlApi(gw, 'POST', `/holds/${encodeURIComponent(summary.callId)}/release`, { body: { by: 'records' } });
  assert.equal(released.status, 200);
  assert.equal((await controlApi(gw, 'POST', `/holds/${encodeURIComponent(summary.callId)}/release`)).status, 404, 'a second release finds no hold');
  const sweep = await controlApi(gw, 'POST', '/retention/sweep', { body: { by: 'records' } });
  assert.equal((sweep.body['report'] as SweepReport).deleted, 1);
  assert.deepEqual(await keysOf(store), [], 'the call is gone, and so are the hold and its folders');

  const health = await controlApi(gw, 'GET', '/health');
  const retention = health.body['retention'] as RetentionView;
  assert.equal(retention.sweep, false);
  assert.equal(retention.last?.deleted, 1);
  assert.equal(health.body['status'], 'ok');

  const records = (await readFile(gw.auditFile, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
  assert.deepEqual(
    records.map((r) => [r.action, r.outcome, r.by]),
    [
      ['hold', 'recording-not-found', 'records'],
      // A body refused as a whole names no one it could trust.
      ['hold', 'bad-request', 'api'],
      ['hold', 'ok', 'records'],
      ['retention-sweep', 'ok', 'records'],
      ['release-hold', 'ok', 'records'],
      ['release-hold', 'hold-not-found', 'api'],
      ['retention-delete', 'ok', 'retention-sweep'],
      ['retention-sweep', 'ok', 'records'],
    ],
  );
  const deletion = records.find((r) => r.action === 'retention-delete');
  assert.equal(deletion?.callId, summary.callId);
  assert.equal(deletion?.details?.['line'], 'helpline');
  assert.equal(deletion?.details?.['objects'], 4);
  assert.equal(records[2]?.details?.['reason'], 'complaint C-1042', 'the hold\'s reason is on the record');
  assert.equal((await verifyAuditLog(gw.auditFile)).ok, true);

  // Stopped, the gateway leaves the whole audit log's copy in the store: the sweep never touches it.
  await gw.running.stop();
  const copies: Buffer[] = [];
  for await (const o of store.list(AUDIT_PREFIX)) copies.push(await streamToBuffer(await store.get(o.key)));
  assert.deepEqual(Buffer.concat(copies), await readFile(gw.auditFile));
});

test('the schedule runs the sweep by itself, and /health shows when it ran and when it runs next', async (t) => {
  const gw = await startTestGateway({ pipeline: true, retention: { sweep: '* * * * * *' } });
  t.after(() => gw.stop());
  const until = Date.now() + 5000;
  let view: RetentionView | undefined;
  while (view?.last === undefined && Date.now() < until) {
    await sleep(100);
    view = (await controlApi(gw, 'GET', '/health')).body['retention'] as RetentionView;
  }
  assert.ok(view?.last, 'a sweep ran within 5 s of a schedule that fires every second');
  assert.equal(view?.sweep, '* * * * * *');
  assert.ok(view?.nextRun !== undefined && Date.parse(view.nextRun) > Date.parse(view.last?.startedAt ?? ''));
  assert.equal(view?.last?.error, undefined);
});

test('erasing a call before its retention ends: only a records token, never while the call is up or held, always with a reason, audited', async (t) => {
  const gw = await startTestGateway({
    pipeline: true,
    retention: { sweep: 'off' },
    controlClients: [
      { name: 'records-office', role: 'records', token: 'records-token-0123456789' },
      { name: 'agent-desktop', role: 'operator', token: 'desk-token-0123456789' },
    ],
  });
  t.after(() => gw.stop());
  const records = { token: 'records-token-0123456789' };
  const started = await startCall(t, gw, { agent: { scenario: 'agent.xml' }, caller: { scenario: 'caller.xml', pauseMs: 3000 } });
  started.finished.catch(() => undefined);
  const call = await started.call;
  const erase = (body: unknown, opts: { token: string } = records): Promise<ApiReply> => controlApi(gw, 'POST', `/recordings/${encodeURIComponent(call.id)}/erase`, { ...opts, body });

  const live = await erase({ by: 'records', reason: 'recorded in error' });
  assert.equal(live.status, 409);
  assert.equal((live.body['error'] as { code: string }).code, 'call-active');
  await started.finished;
  assert.equal(await gw.running.pipeline?.uploader.drain(20_000), true);
  const store = new FsStore({ dir: gw.storeDir });
  assert.equal((await keysOf(store)).length, 4);

  assert.equal((await erase({ by: 'agent7', reason: 'mine' }, { token: 'desk-token-0123456789' })).status, 403, 'an operator cannot erase');
  assert.equal((await erase({ by: 'records' })).status, 400, 'an erasure needs its reason');
  await controlApi(gw, 'POST', `/holds/${encodeURIComponent(call.id)}`, { ...records, body: { by: 'records', reason: 'complaint C-9' } });
  const held = await erase({ by: 'records', reason: 'recorded in error' });
  assert.equal(held.status, 409);
  assert.match((held.body['error'] as { message: string }).message, /held \(complaint C-9, by records\)/);
  await controlApi(gw, 'POST', `/holds/${encodeURIComponent(call.id)}/release`, { ...records, body: { by: 'records' } });

  const erased = await erase({ by: 'records', reason: 'erasure request E-12' });
  assert.equal(erased.status, 200, JSON.stringify(erased.body));
  assert.deepEqual(erased.body['erased'], { objects: 4, deleted: 4 });
  assert.deepEqual(await keysOf(store), []);
  assert.equal((await erase({ by: 'records', reason: 'again' })).status, 404);

  const audit = (await readFile(gw.auditFile, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord)
    .filter((r) => r.action === 'erase' && r.outcome === 'ok');
  assert.equal(audit.length, 1);
  assert.equal(audit[0]?.callId, call.id);
  assert.deepEqual([audit[0]?.details?.['client'], audit[0]?.details?.['reason'], audit[0]?.details?.['deleted']], ['records-office', 'erasure request E-12', 4]);
});
