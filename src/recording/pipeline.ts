/**
 * The recording pipeline from config: the key-encryption key, the store, the
 * durable spool and its uploader, and the encrypted segment writer the calls
 * write into. On start the uploader first finishes what a crash left in the
 * spool (torn tails cut to the last whole chunk) and uploads it.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LINE_POLICY_DEFAULTS } from '../config/defaults.js';
import type { GatewayConfig } from '../config/types.js';
import { recoverableLength } from '../crypto/format.js';
import { generateKeyPair, loadEncryptionKey, type KeyEncryptionKey } from '../crypto/keys.js';
import type { Logger } from '../ops/log.js';
import { Discarder, type DiscardResult } from '../storage/discard.js';
import { FsStore } from '../storage/fs.js';
import { DISCARD_PENDING_FILE, Spool, type SpoolEntry } from '../storage/spool.js';
import type { ObjectStore } from '../storage/store.js';
import { Uploader } from '../storage/uploader.js';
import { EncryptedSegmentWriter } from './encrypted-writer.js';

export interface RecordingPipeline {
  readonly writer: EncryptedSegmentWriter;
  readonly spool: Spool;
  readonly uploader: Uploader;
  readonly store: ObjectStore;
  readonly keyId: string;
  /** Removes recordings (an opt-out) from the spool and the store; deletes a down store refuses are retried. */
  discard(this: void, keys: readonly string[]): Promise<DiscardResult>;
  /** False while the spool is full, its disk is low, or it cannot write: lines then apply their onRecordingFailure policy. */
  canRecord(this: void): boolean;
  /** Waits (up to `drainMs`) for the spool to empty, then stops the uploader; what is left stays for the next start. */
  stop(drainMs?: number): Promise<void>;
}

/**
 * The uploader's slots. Each live call streams two legs, so sixteen tails keep
 * eight calls streaming while they run; every other call's segments go up as
 * each is sealed (at the segment rollover and at the end of the call), on
 * slots of their own, so they never wait for a streaming call to end. Tails
 * are bounded because each holds a store upload open (S3 buffers up to a part
 * in memory) for as long as its segment lasts.
 */
export const UPLOAD_SLOTS = { concurrency: 8, liveConcurrency: 16 } as const;

/** With no key configured, a pair is made once in keyDir and the newest public key is used. */
function encryptionKey(config: GatewayConfig['encryption'], log: Logger): KeyEncryptionKey {
  if (config.publicKey !== undefined || config.keyFile !== undefined) {
    return loadEncryptionKey({ ...(config.publicKey !== undefined ? { publicKey: config.publicKey } : {}), ...(config.keyFile !== undefined ? { keyFile: config.keyFile } : {}) });
  }
  mkdirSync(config.keyDir, { recursive: true, mode: 0o700 });
  const existing = readdirSync(config.keyDir).filter((f) => f.endsWith('.public.pem')).sort();
  const newest = existing.at(-1);
  if (newest !== undefined) return loadEncryptionKey({ publicKey: join(config.keyDir, newest) });
  const made = generateKeyPair(config.keyDir);
  log.warn(
    { keyId: made.id, publicKey: made.publicKeyFile, privateKey: made.privateKeyFile },
    'no encryption key configured: made a key pair; move the private key off this machine, recordings can only be read with it',
  );
  return loadEncryptionKey({ publicKey: made.publicKeyFile });
}

/** The configured store; the export command opens it too. The AWS SDK is loaded only when S3 is configured. */
export async function openStore(config: GatewayConfig['storage'], log: Logger): Promise<ObjectStore> {
  if (config.kind === 'fs') return new FsStore({ dir: config.dir, logger: log });
  const { S3Store } = await import('../storage/s3.js');
  return new S3Store({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.pathStyle,
    objectLock: config.objectLock,
    logger: log,
  });
}

/** A crash can leave a half-written record at the end of a segment: cut it, keep every whole chunk. */
async function cutTornTail(entry: SpoolEntry): Promise<void> {
  const bytes = await readFile(entry.path);
  const whole = recoverableLength(bytes);
  if (whole < bytes.length) await entry.truncate(whole);
}

export async function startRecordingPipeline(config: GatewayConfig, log: Logger): Promise<RecordingPipeline> {
  const kek = encryptionKey(config.encryption, log);
  const store = await openStore(config.storage, log.child({ component: 'store' }));
  const spool = new Spool({ dir: config.spool.dir, maxBytes: config.spool.maxBytes, minFreeBytes: config.spool.minFreeBytes, logger: log.child({ component: 'spool' }) });
  await spool.open();
  const uploader = new Uploader({ spool, store, logger: log.child({ component: 'uploader' }), recover: cutTornTail, ...UPLOAD_SLOTS });
  await uploader.start();
  const retention = new Map(config.lines.map((l) => [l.name, l.retentionDays]));
  const writer = new EncryptedSegmentWriter({
    spool,
    kek,
    log,
    retentionDays: (line) => retention.get(line) ?? LINE_POLICY_DEFAULTS.retentionDays,
    objectLock: config.storage.kind === 's3' && config.storage.objectLock,
  });
  const discarder = new Discarder({ uploader, store, logger: log.child({ component: 'discard' }), pendingFile: join(config.spool.dir, DISCARD_PENDING_FILE) });
  await discarder.start();
  log.info({ store: store.location, spool: config.spool.dir, keyId: kek.id, recovered: spool.entries().filter((e) => e.recovered).length }, 'recording pipeline ready');
  return {
    writer,
    spool,
    uploader,
    store,
    keyId: kek.id,
    canRecord: () => !spool.full && !spool.low && spool.fault === undefined,
    discard: (keys) => discarder.discard(keys),
    stop: async (drainMs = 5000) => {
      await uploader.drain(drainMs);
      await uploader.stop();
    },
  };
}
