/**
 * The audit log's copies checked in the store alone: each host's copies put
 * back into chains, an edited copy and one that follows a missing copy named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from '../../src/access/audit.js';
import { verifyAuditCopies } from '../../src/access/audit-copies.js';
import { AuditShipper } from '../../src/access/audit-shipper.js';
import { streamToBuffer } from '../../src/access/export.js';
import { FsStore } from '../../src/storage/fs.js';
import { captureLog } from '../helpers/log.js';

/** A log of `batches` appends, each batch copied to the store as the gateway would. */
async function shipped(store: FsStore, dir: string, host: string, batches: readonly number[]): Promise<void> {
  const file = join(dir, `${host}-${Math.random().toString(36).slice(2)}.log`);
  const audit = await AuditLog.open(file);
  const shipper = new AuditShipper({ store, file, host, log: captureLog().logger, intervalMs: 3_600_000 });
  await shipper.start();
  for (const n of batches) {
    for (let i = 0; i < n; i++) await audit.append({ action: 'pause', callId: `c${i}`, by: host, outcome: 'ok' });
    await shipper.shipNow();
  }
  await shipper.stop();
  await audit.close();
}

async function keysOf(store: FsStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('audit/')) keys.push(o.key);
  return keys.sort();
}

test('every host\'s copies make whole chains; a host whose log started afresh has two', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-audit-copies-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FsStore({ dir: join(dir, 'store') });
  await shipped(store, dir, 'gw-a', [2, 3, 1]);
  await shipped(store, dir, 'gw-b', [4]);
  await shipped(store, dir, 'gw-b', [2, 2]);
  assert.deepEqual(await verifyAuditCopies(store), [
    { host: 'gw-a', chains: [{ firstSeq: 1, lastSeq: 6, objects: 3 }], problems: [] },
    // The new log's first copy (records 1-2) sorts before the old log's (1-4).
    { host: 'gw-b', chains: [{ firstSeq: 1, lastSeq: 4, objects: 2 }, { firstSeq: 1, lastSeq: 4, objects: 1 }], problems: [] },
  ]);
  assert.equal((await verifyAuditCopies(store, 'gw-a')).length, 1);
});

test('an edited copy, and a copy whose predecessor is gone, are named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-audit-copies-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FsStore({ dir: join(dir, 'store') });
  await shipped(store, dir, 'gw-a', [2, 2, 2]);
  const [first, second, third] = await keysOf(store);
  assert.ok(first !== undefined && second !== undefined && third !== undefined);

  // Someone with the store's credentials rewrites who paused a call.
  const original = await streamToBuffer(await store.get(second));
  await store.put(second, Buffer.from(original.toString('utf8').replace('"by":"gw-a"', '"by":"nobody"')), { tags: {} });
  let [h] = await verifyAuditCopies(store);
  assert.deepEqual(h?.chains, [{ firstSeq: 1, lastSeq: 2, objects: 1 }]);
  assert.deepEqual(h?.problems, [
    `${second}: its records' hashes do not check against the copy before them: edited, or from another log`,
    `${third}: no copy ends at record 4: records before it are missing from the store`,
  ]);

  // The middle copy deleted instead.
  await store.delete(second);
  [h] = await verifyAuditCopies(store);
  assert.deepEqual(h?.problems, [`${third}: no copy ends at record 4: records before it are missing from the store`]);
});
