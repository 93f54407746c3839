/**
 * The audit log's copy in the store: new records go up as new objects, byte
 * for byte, never overwriting one; a restart carries on where the copy ends;
 * a store that refuses is tried again and said so; the copies, in key order,
 * are the log, and its chain checks out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog, verifyAuditLog } from '../../src/access/audit.js';
import { AuditShipper } from '../../src/access/audit-shipper.js';
import { streamToBuffer } from '../../src/access/export.js';
import { FsStore } from '../../src/storage/fs.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { captureLog } from '../helpers/log.js';

async function copies(store: FsStore): Promise<{ key: string; body: Buffer }[]> {
  const found: { key: string; body: Buffer }[] = [];
  for await (const o of store.list('audit/')) found.push({ key: o.key, body: await streamToBuffer(await store.get(o.key)) });
  return found.sort((a, b) => (a.key < b.key ? -1 : 1));
}

test('the audit log goes up as it grows, one new object per copy, and a restart carries on where the copy ends', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-audit-ship-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FsStore({ dir: join(dir, 'store') });
  const file = join(dir, 'audit.log');
  const audit = await AuditLog.open(file);
  t.after(() => audit.close());
  for (const by of ['a', 'b', 'c']) await audit.append({ action: 'pause', callId: 'c1', by, outcome: 'ok' });
  const log = captureLog();

  const first = new AuditShipper({ store, file, host: 'gw-1.example', log: log.logger, intervalMs: 3_600_000 });
  await first.start();
  await audit.append({ action: 'resume', callId: 'c1', by: 'd', outcome: 'ok' });
  await audit.append({ action: 'stop', callId: 'c1', by: 'e', outcome: 'ok' });
  await first.stop();
  let held = await copies(store);
  assert.deepEqual(held.map((c) => c.key.replace(/-[0-9a-f]{12}\.jsonl$/, '')), ['audit/gw-1.example/000000000001-000000000003', 'audit/gw-1.example/000000000004-000000000005']);
  assert.deepEqual(Buffer.concat(held.map((c) => c.body)), readFileSync(file), 'byte for byte');
  assert.equal(first.view.shippedSeq, 5);

  // Restarted: nothing is copied twice, and what follows goes on from there.
  const second = new AuditShipper({ store, file, host: 'gw-1.example', log: log.logger, intervalMs: 3_600_000 });
  await second.start();
  assert.equal((await copies(store)).length, 2, 'nothing new: no new object');
  await audit.append({ action: 'opt-out', callId: 'c2', by: 'f', outcome: 'ok' });
  await second.stop();
  held = await copies(store);
  assert.equal(held.length, 3);
  assert.match(held[2]?.key ?? '', /\/000000000006-000000000006-[0-9a-f]{12}\.jsonl$/);
  const joined = join(dir, 'joined.log');
  writeFileSync(joined, Buffer.concat(held.map((c) => c.body)));
  assert.deepEqual(await verifyAuditLog(joined), { ok: true, records: 6 }, 'the copies, in key order, are the log');
});

test('a store that refuses: the records wait on the disk, the failure is shown, and they go up once it takes them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-audit-ship-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inner = new FsStore({ dir: join(dir, 'store') });
  const store = new FlakyStore(inner);
  const file = join(dir, 'audit.log');
  const audit = await AuditLog.open(file);
  t.after(() => audit.close());
  await audit.append({ action: 'hold', callId: 'c1', by: 'records', outcome: 'ok' });
  store.down = true;
  const log = captureLog();
  const shipper = new AuditShipper({ store, file, host: 'gw-2', log: log.logger, intervalMs: 3_600_000 });
  await shipper.start();
  const failing = shipper.view;
  assert.equal(failing.shippedSeq, 0);
  assert.ok(failing.failingSince !== undefined && failing.lastError === 'store is down', JSON.stringify(failing));
  assert.ok(log.entries().some((l) => l['msg'] === 'audit log not copied to the store; tried again at the next interval'));

  store.down = false;
  await shipper.shipNow();
  assert.deepEqual(
    ((v) => [v.shippedSeq, v.failingSince, v.lastError])(shipper.view),
    [1, undefined, undefined],
  );
  assert.deepEqual((await copies(inner)).map((c) => c.body), [readFileSync(file)]);
  await shipper.stop();
});

test('a log started afresh (a new disk) is copied whole beside the old copy, never over it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-audit-ship-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FsStore({ dir: join(dir, 'store') });
  const log = captureLog();
  for (const name of ['old.log', 'new.log']) {
    const file = join(dir, name);
    const audit = await AuditLog.open(file);
    await audit.append({ action: 'pause', callId: name, by: 'x', outcome: 'ok' });
    await audit.close();
    const shipper = new AuditShipper({ store, file, host: 'gw-3', log: log.logger, intervalMs: 3_600_000 });
    await shipper.start();
    await shipper.stop();
  }
  const held = await copies(store);
  assert.equal(held.length, 2, 'both logs\' first record, each under its own hash');
  assert.deepEqual(held.map((c) => JSON.parse(c.body.toString()) as { callId: string }).map((r) => r.callId).sort(), ['new.log', 'old.log']);
  assert.ok(log.entries().some((l) => String(l['msg']).startsWith('audit log is not the one the store holds a copy of')));
});
