/**
 * The nightly retention sweep over an fs store of N calls (two legs and two
 * manifests each, as the pipeline lays them out), a third of them expired,
 * a third within their retention and a third younger than the shortest one.
 * Beside it, in the same run, the walk it cannot do without: listing every
 * object of the store once. What the sweep adds over that walk is its heads
 * and deletes. The sweep reads several calls' expiry at once; an identical
 * store swept one call at a time is its baseline, on the fs store and on the
 * S3-compatible server when it is installed. And finding one call's objects,
 * as a hold, an erasure or an export does: by an id with its time in it,
 * against an earlier version's id, which takes that whole walk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditSink } from '../src/access/audit.js';
import { objectsOfCall } from '../src/access/export.js';
import { silentLogger } from '../src/ops/log.js';
import { newCallId } from '../src/recording/call-id.js';
import { manifestKey, objectKey, recordingTags } from '../src/recording/layout.js';
import { Holds } from '../src/retention/holds.js';
import { sweepExpired } from '../src/retention/sweep.js';
import { FsStore } from '../src/storage/fs.js';
import { S3Store } from '../src/storage/s3.js';
import type { ObjectStore } from '../src/storage/store.js';
import { s3ServerAvailable, startS3Server } from '../test/helpers/s3-server.js';

export interface RetentionFigures {
  readonly calls: number;
  readonly objects: number;
  /** Listing every object once: the baseline. */
  readonly listMs: number;
  readonly sweepMs: number;
  /** The same sweep over an identical store, reading one call at a time: the baseline of the read-ahead. */
  readonly sweepOneByOneMs: number;
  readonly examined: number;
  readonly deleted: number;
  /** Finding one call's objects by its id: the median of 21 calls. */
  readonly findMs: number;
  /** The same for a call whose id has no time in it. */
  readonly findLegacyMs: number;
}

const DAY = 86_400_000;

async function fill(store: ObjectStore, calls: number, now: number): Promise<{ objects: number; ids: string[] }> {
  const body = Buffer.alloc(256, 1);
  let objects = 0;
  const ids: string[] = [];
  for (let i = 0; i < calls; i++) {
    // Expired (100 days old), kept (30 days old, 90-day retention), young (2 days old).
    const age = [100, 30, 2][i % 3] ?? 2;
    const startedAt = new Date(now - age * DAY - i * 1000);
    // The last call's id is as an earlier version made it, without a time.
    const callId = i === calls - 1 ? `bench-call-${i}` : newCallId(startedAt.getTime());
    ids.push(callId);
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
  return { objects, ids };
}

async function timeFind(store: FsStore, id: string): Promise<number> {
  const t0 = performance.now();
  const found = await objectsOfCall(store, id);
  const ms = performance.now() - t0;
  if (found.length !== 4) throw new Error(`found ${found.length} objects of call ${id}, not 4`);
  return ms;
}

/** Sweeps the store, after an identical one swept reading one call at a time; both deleting the same calls. */
async function sweepBoth(one: ObjectStore, ahead: ObjectStore, calls: number): Promise<{ sweepMs: number; sweepOneByOneMs: number; examined: number; deleted: number }> {
  const now = Date.now();
  await fill(one, calls, now);
  await fill(ahead, calls, now);
  const audit: AuditSink = { append: () => Promise.resolve() };
  const t0 = performance.now();
  const base = await sweepExpired({ store: one, holds: new Holds(one), audit, log: silentLogger(), readAhead: 1 });
  const sweepOneByOneMs = performance.now() - t0;
  const t1 = performance.now();
  const report = await sweepExpired({ store: ahead, holds: new Holds(ahead), audit, log: silentLogger() });
  const sweepMs = performance.now() - t1;
  if (base.deleted !== report.deleted || base.examined !== report.examined) throw new Error(`the sweeps differ: ${JSON.stringify([base, report])}`);
  return { sweepMs, sweepOneByOneMs, examined: report.examined, deleted: report.deleted };
}

export async function measureRetention(calls: number): Promise<RetentionFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-bench-retention-'));
  try {
    const store = new FsStore({ dir: join(dir, 'a') });
    const now = Date.now();
    const { objects, ids } = await fill(store, calls, now);
    const finds: number[] = [];
    for (let i = 0; i < 21; i++) finds.push(await timeFind(store, ids[Math.floor((i * (calls - 1)) / 21)] ?? ''));
    const findMs = finds.sort((a, b) => a - b)[10] ?? NaN;
    const findLegacyMs = await timeFind(store, ids.at(-1) ?? '');
    const t0 = performance.now();
    let listed = 0;
    for await (const o of store.list('')) if (o.size > 0) listed++;
    const listMs = performance.now() - t0;
    if (listed !== objects) throw new Error(`listed ${listed} of ${objects} objects`);
    await rm(join(dir, 'a'), { recursive: true, force: true });
    const swept = await sweepBoth(new FsStore({ dir: join(dir, 'one') }), new FsStore({ dir: join(dir, 'ahead') }), calls);
    return { calls, objects, listMs, ...swept, findMs, findLegacyMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface S3SweepFigures {
  readonly calls: number;
  readonly sweepMs: number;
  readonly sweepOneByOneMs: number;
  readonly examined: number;
  readonly deleted: number;
}

/** The sweep over the S3-compatible server on loopback, when it is installed: undefined otherwise. */
export async function measureS3Sweep(calls: number): Promise<S3SweepFigures | undefined> {
  if (!s3ServerAvailable()) return undefined;
  const server = await startS3Server();
  const stores: S3Store[] = [];
  try {
    await server.createBucket('bench');
    const store = (prefix: string): S3Store => {
      const s = new S3Store({ bucket: 'bench', prefix, endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
      stores.push(s);
      return s;
    };
    return { calls, ...(await sweepBoth(store('one'), store('ahead'), calls)) };
  } finally {
    for (const s of stores) s.close();
    await server.shutdown();
  }
}
