/**
 * The nightly retention sweep over an fs store of N calls (two legs and two
 * manifests each, as the pipeline lays them out), a third of them expired,
 * a third within their retention and a third younger than the shortest one.
 * Beside it, in the same run, the walk it cannot do without: listing every
 * object of the store once. What the sweep adds over that walk is its heads
 * and deletes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditSink } from '../src/access/audit.js';
import { silentLogger } from '../src/ops/log.js';
import { manifestKey, objectKey, recordingTags } from '../src/recording/layout.js';
import { Holds } from '../src/retention/holds.js';
import { sweepExpired } from '../src/retention/sweep.js';
import { FsStore } from '../src/storage/fs.js';

export interface RetentionFigures {
  readonly calls: number;
  readonly objects: number;
  /** Listing every object once: the baseline. */
  readonly listMs: number;
  readonly sweepMs: number;
  readonly examined: number;
  readonly deleted: number;
}

const DAY = 86_400_000;

async function fill(store: FsStore, calls: number, now: number): Promise<number> {
  const body = Buffer.alloc(256, 1);
  let objects = 0;
  for (let i = 0; i < calls; i++) {
    // Expired (100 days old), kept (30 days old, 90-day retention), young (2 days old).
    const age = [100, 30, 2][i % 3] ?? 2;
    const startedAt = new Date(now - age * DAY - i * 1000);
    const callId = `bench-call-${i}`;
    const tags = (leg: string): Record<string, string> => recordingTags({ line: 'helpline', startedAt, leg, callId, direction: 'inbound' }, 90);
    const keys: [string, string][] = [
      ...(['caller', 'agent'] as const).map((leg): [string, string] => [objectKey({ callId, leg, segment: 1, codec: 'PCMA', sampleRate: 8000, startedAt, callStartedAt: startedAt, line: 'helpline', direction: 'inbound' }), leg]),
      [manifestKey('helpline', callId, startedAt, 'start'), 'manifest'],
      [manifestKey('helpline', callId, startedAt, 'final'), 'manifest'],
    ];
    for (const [key, leg] of keys) {
      await store.put(key, body, { tags: tags(leg) });
      objects++;
    }
  }
  return objects;
}

export async function measureRetention(calls: number): Promise<RetentionFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-bench-retention-'));
  try {
    const store = new FsStore({ dir });
    const now = Date.now();
    const objects = await fill(store, calls, now);
    const t0 = performance.now();
    let listed = 0;
    for await (const o of store.list('')) if (o.size > 0) listed++;
    const listMs = performance.now() - t0;
    if (listed !== objects) throw new Error(`listed ${listed} of ${objects} objects`);
    const audit: AuditSink = { append: () => Promise.resolve() };
    const t1 = performance.now();
    const report = await sweepExpired({ store, holds: new Holds(store), audit, log: silentLogger() });
    const sweepMs = performance.now() - t1;
    return { calls, objects, listMs, sweepMs, examined: report.examined, deleted: report.deleted };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
