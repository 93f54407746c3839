/** Finding a call's objects: by the days its id names, without reading the whole store when the id says where to look. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { objectsOfCall } from '../../src/access/export.js';
import { newCallId } from '../../src/recording/call-id.js';
import { ListingStore } from '../helpers/recordings.js';

async function storeWithCalls(t: TestContext): Promise<{ store: ListingStore; id: string; keys: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-find-call-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new ListingStore({ dir });
  // Rang before midnight, answered after it: filed under the next day.
  const id = newCallId(Date.parse('2026-12-07T23:58:00.000Z'));
  const keys = ['agent-1.rec', 'caller-1.rec', 'manifest.rec'].map((name) => `helpline/2026/12/08/${id}/${name}`);
  const others = [
    `sales/2026/12/07/${newCallId(Date.parse('2026-12-07T10:00:00.000Z'))}/caller-1.rec`,
    `helpline/2026/12/07/${newCallId(Date.parse('2026-12-07T23:00:00.000Z'))}/manifest.rec`,
    'helpline/2026/12/07/legacy-1/caller-1.rec',
    `holds/${id}.json`,
    'audit/gw1/000000000001-000000000002-abcdefabcdef.jsonl',
  ];
  for (const key of [...keys, ...others]) await store.put(key, Buffer.from(key), { tags: {} });
  return { store, id, keys };
}

test('a call id with its time in it is looked for only in the days it names, under each line', async (t) => {
  const { store, id, keys } = await storeWithCalls(t);
  assert.deepEqual((await objectsOfCall(store, id)).map((o) => o.key), keys);
  assert.equal(store.listed.length, 8, 'two lines, four days each');
  assert.ok(store.listed.every((p) => p.endsWith(`/${id}/`)), `only the call's own folders: ${store.listed.join(', ')}`);
  assert.ok(!store.listed.some((p) => p.startsWith('holds/') || p.startsWith('audit/')), 'not the store\'s own folders');

  store.listed.length = 0;
  assert.deepEqual((await objectsOfCall(store, id.toUpperCase(), 'helpline/')).map((o) => o.key), keys, 'the line named, the id in capitals');
  assert.deepEqual(store.listed, ['2026/12/06', '2026/12/07', '2026/12/08', '2026/12/09'].map((day) => `helpline/${day}/${id}/`));

  store.listed.length = 0;
  assert.deepEqual((await objectsOfCall(store, id, 'helpline/2026/12/08/')).map((o) => o.key), keys);
  assert.deepEqual(store.listed, ['helpline/2026/12/08/'], 'a line\'s day named is listed as it is');

  store.listed.length = 0;
  assert.deepEqual((await objectsOfCall(store, id, `helpline/2026/12/08/${id}/`)).map((o) => o.key), keys);
  assert.deepEqual(store.listed, [`helpline/2026/12/08/${id}/`], 'and so is the call\'s own folder');

  assert.deepEqual(await objectsOfCall(store, id, 'helpline/2026/12/07/'), [], 'not on another day');
  assert.deepEqual(await objectsOfCall(store, newCallId(Date.parse('2026-11-01T12:00:00.000Z'))), [], 'a call the store does not hold');
});

test('an id without a time (an earlier version\'s) is looked for through the whole store, or the part named', async (t) => {
  const { store } = await storeWithCalls(t);
  assert.deepEqual((await objectsOfCall(store, 'legacy-1')).map((o) => o.key), ['helpline/2026/12/07/legacy-1/caller-1.rec']);
  assert.deepEqual(store.listed, ['']);
  assert.deepEqual(await objectsOfCall(store, 'legacy-1', 'sales/'), []);
});
