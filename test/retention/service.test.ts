/**
 * Erasure on a real fs store and a real spool: refused while part of the
 * call is still in the spool (it would come back after), and a store that
 * refuses midway is said with how much went.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ControlError } from '../../src/control/errors.js';
import { keySafe, manifestKey, objectKey } from '../../src/recording/layout.js';
import { Holds } from '../../src/retention/holds.js';
import { RetentionService } from '../../src/retention/service.js';
import type { SweepReport } from '../../src/retention/sweep.js';
import { FsStore } from '../../src/storage/fs.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { openSpool } from '../helpers/spool.js';

test('an erasure waits for the spool to hand over the whole call, and says how far a refusing store let it go', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-erase-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new FlakyStore(new FsStore({ dir: join(dir, 'store') }));
  const spool = await openSpool(t, { dir: join(dir, 'spool') });
  const callId = 'Call-7@pstn';
  const startedAt = new Date('2026-12-01T10:00:00Z');
  const info = { callId, segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: startedAt, line: 'helpline', direction: 'inbound' } as const;
  for (const key of [objectKey({ ...info, leg: 'caller' }), objectKey({ ...info, leg: 'agent' }), manifestKey('helpline', callId, startedAt, 'final')]) {
    await store.put(key, Buffer.from('sealed'), { tags: {} });
  }
  const pending = spool.create({ key: objectKey({ ...info, leg: 'caller', segment: 2 }), kind: 'audio', callId, tags: {} });
  const service = new RetentionService({
    store,
    holds: new Holds(store),
    sweep: () => Promise.reject<SweepReport>(new Error('not in this test')),
    isActive: () => false,
    pendingInSpool: (id) => spool.entries().filter((e) => keySafe(e.meta.callId) === keySafe(id)).length,
  });

  await assert.rejects(service.erase(callId), (err: ControlError) => err.code === 'not-uploaded' && /1 segment of call/.test(err.message));
  await pending.remove();

  store.deletesLeft = 1;
  await assert.rejects(service.erase(callId), (err: ControlError) => err.code === 'store-failed' && /^1 of 3 objects erased; the store refused the rest/.test(err.message));
  store.deletesLeft = Infinity;
  assert.deepEqual(await service.erase(callId), { objects: 2, deleted: 2 }, 'asked again, it erases what is left, the manifest last');
});
