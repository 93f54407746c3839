/**
 * The S3 object store: recording segments streamed to a bucket while the call
 * runs, tagged, verified, and optionally locked (Object Lock retention).
 *
 * A put is confirmed by the server, not by the upload's answer: HeadObject
 * gives the stored size (some servers return no ETag for a multipart upload),
 * the SHA-256 taken while streaming is kept in the object's metadata, and the
 * tags are read back. Retention is set only after all that matched, so an
 * object that failed verification can still be removed. With Object Lock, a
 * hold on a call also sets the bucket's legal hold on its objects, so that a
 * lifecycle rule cannot delete them either.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { silentLogger, type Logger } from '../ops/log.js';
import { DigestStream, type Digest } from './digest.js';
import { StorageError, type ListedObject, type ObjectInfo, type ObjectStore, type PutOptions, type StoredObject } from './store.js';
import { createS3Client } from './s3/client.js';
import { isNotFound, storageErrorOf } from './s3/errors.js';
import { listFolders, listObjects, versionsOf } from './s3/listing.js';
import { sameTags, tagSetOf, tagsOf, type Tags } from './s3/tags.js';
import { uploadObject } from './s3/upload.js';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Keys live under `prefix/`; no leading or trailing slash needed. */
  readonly prefix?: string;
  readonly region?: string;
  /** For S3-compatible servers (Ceph RGW, MinIO...). */
  readonly endpoint?: string;
  /** Default: true when `endpoint` is set (what S3-compatible servers expect), else false. */
  readonly forcePathStyle?: boolean;
  /** Default: the standard AWS credential chain (env, shared files, instance role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The bucket has Object Lock: honour PutOptions.retainUntil, and delete every version of a key. */
  readonly objectLock?: boolean;
  /** Default COMPLIANCE: not even the bucket owner can shorten it. */
  readonly objectLockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  readonly logger?: Logger;
  /** Multipart part size in bytes. Default 5 MiB (the S3 minimum). */
  readonly partSize?: number;
  /**
   * Parts in flight per upload, each buffered in memory. Default 1: a live
   * segment fills a part in minutes, and many uploads run at once, so more
   * would only multiply memory when the spool is drained after an outage.
   */
  readonly queueSize?: number;
  /** SDK attempts per request, first included. Default 3. */
  readonly maxAttempts?: number;
  /** TCP connect timeout. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Socket inactivity per request (a reader pausing a get's body counts too). Default 120 s. */
  readonly requestTimeoutMs?: number;
  /** Keys per ListObjectsV2 page. Default 1000. */
  readonly listPageSize?: number;
}

const MiB = 1024 * 1024;

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly opts: S3StoreOptions;

  constructor(opts: S3StoreOptions) {
    this.opts = opts;
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.location = this.prefix ? `s3://${this.bucket}/${this.prefix}` : `s3://${this.bucket}`;
    this.log = (opts.logger ?? silentLogger()).child({ component: 's3-store', location: this.location });
    this.client = createS3Client(opts);
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<StoredObject> {
    const objectKey = this.objectKey(key);
    const signal = opts.signal;
    let meter: DigestStream | undefined;
    try {
      let known: Digest | undefined;
      let uploadBody: Readable | Buffer;
      if (Buffer.isBuffer(body)) {
        // The whole body is at hand: refuse a mismatch before anything is written.
        known = { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
        this.verify(key, known, opts);
        uploadBody = body;
      } else {
        meter = new DigestStream();
        // Upload reads the meter, and a body error reaches it through the meter: this promise has nothing more to say.
        pipeline(body, meter).catch(() => undefined);
        uploadBody = meter;
      }
      const tags = opts.tags;
      await uploadObject({
        client: this.client,
        bucket: this.bucket,
        key: objectKey,
        body: uploadBody,
        metadata: known ? { ...tags, sha256: known.sha256 } : tags,
        tags,
        ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}),
        partSize: this.opts.partSize ?? 5 * MiB,
        queueSize: this.opts.queueSize ?? 1,
        ...(signal !== undefined ? { signal } : {}),
      });
      // Upload resolves only after reading the body to its end, so the meter has seen every byte.
      const digest = known ?? (meter as DigestStream).digest();

      let head = await this.headObject(objectKey, signal);
      if (head.ContentLength !== digest.size) {
        await this.discard(objectKey, head.VersionId);
        throw new StorageError('VERIFY_FAILED', `put ${key}: the store holds ${head.ContentLength ?? '?'} bytes, ${digest.size} were sent`);
      }
      if (!known) {
        try {
          this.verify(key, digest, opts);
        } catch (err) {
          await this.discard(objectKey, head.VersionId);
          throw err;
        }
      }
      if (head.Metadata?.['sha256'] !== digest.sha256) head = await this.stampDigest(objectKey, head, digest, tags, opts.contentType, signal);
      await this.ensureTags(objectKey, head.VersionId, tags, signal);
      if (opts.retainUntil && this.opts.objectLock) {
        await this.client.send(
          new PutObjectRetentionCommand({
            Bucket: this.bucket,
            Key: objectKey,
            VersionId: head.VersionId,
            Retention: { Mode: this.opts.objectLockMode ?? 'COMPLIANCE', RetainUntilDate: opts.retainUntil },
          }),
          { abortSignal: signal },
        );
      }
      this.log.debug({ key: objectKey, size: digest.size, versionId: head.VersionId }, 'object stored');
      return { key, size: digest.size, sha256: digest.sha256 };
    } catch (err) {
      // Let go of the caller's body: nothing will read the rest of it.
      meter?.destroy();
      if (!Buffer.isBuffer(body)) body.destroy();
      throw storageErrorOf(err, `put ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const objectKey = this.objectKey(key);
    try {
      let head: HeadObjectCommandOutput;
      try {
        head = await this.headObject(objectKey);
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
      const tagging = await this.client.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: objectKey, VersionId: head.VersionId }));
      const metadata = { ...head.Metadata };
      return {
        key,
        size: head.ContentLength ?? 0,
        sha256: metadata['sha256'] ?? '',
        tags: tagsOf(tagging.TagSet),
        metadata,
        lastModified: head.LastModified ?? new Date(0),
      };
    } catch (err) {
      throw storageErrorOf(err, `head ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      if (!(res.Body instanceof Readable)) throw new StorageError('STORE_UNAVAILABLE', `get ${key}: the response has no readable body`);
      return res.Body;
    } catch (err) {
      throw storageErrorOf(err, `get ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    try {
      yield* listObjects({
        client: this.client,
        bucket: this.bucket,
        prefix: this.objectKey(prefix),
        pageSize: this.opts.listPageSize ?? 1000,
        storeKey: (k) => this.storeKey(k),
      });
    } catch (err) {
      throw storageErrorOf(err, `list ${prefix}`);
    }
  }

  async folders(prefix: string): Promise<string[]> {
    try {
      // The names are relative to the prefix, so the store's own prefix never shows in them.
      return await listFolders({ client: this.client, bucket: this.bucket, prefix: this.objectKey(prefix), pageSize: this.opts.listPageSize ?? 1000 });
    } catch (err) {
      throw storageErrorOf(err, `list the folders of ${prefix}`);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      if (!this.opts.objectLock) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
        return;
      }
      // Versioned bucket: a plain delete only hides the data behind a marker, and deleting just the
      // newest version would bring an older one back. Remove them all; a retained one refuses.
      let failure: unknown;
      for (const versionId of await versionsOf(this.client, this.bucket, objectKey)) {
        try {
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId }));
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure !== undefined) throw storageErrorOf(failure, `delete ${key}`);
    } catch (err) {
      throw storageErrorOf(err, `delete ${key}`);
    }
  }

  /** Without Object Lock the bucket has no legal holds: a no-op, and the recording is kept by the hold record alone. */
  async legalHold(key: string, on: boolean): Promise<void> {
    if (!this.opts.objectLock) return;
    const objectKey = this.objectKey(key);
    try {
      // A delete marker holds no data and takes no legal hold.
      for (const versionId of await versionsOf(this.client, this.bucket, objectKey, { markers: false })) {
        await this.client.send(new PutObjectLegalHoldCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId, LegalHold: { Status: on ? 'ON' : 'OFF' } }));
      }
    } catch (err) {
      throw storageErrorOf(err, `legal hold ${on ? 'on' : 'off'} ${key}`);
    }
  }

  /** Closes the client's sockets. The store is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private storeKey(objectKey: string): string {
    return this.prefix && objectKey.startsWith(`${this.prefix}/`) ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  private verify(key: string, digest: Digest, opts: PutOptions): void {
    if (opts.size !== undefined && opts.size !== digest.size) {
      throw new StorageError('VERIFY_FAILED', `put ${key}: ${digest.size} bytes, expected ${opts.size}`);
    }
    if (opts.sha256 !== undefined && opts.sha256.toLowerCase() !== digest.sha256) {
      throw new StorageError('VERIFY_FAILED', `put ${key}: sha256 ${digest.sha256}, expected ${opts.sha256}`);
    }
  }

  private headObject(objectKey: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput> {
    return this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }), { abortSignal: signal });
  }

  /**
   * Metadata is fixed when a multipart upload starts, before the stream's hash
   * is known; a copy onto itself is the only way to add it. The copy becomes
   * the object and the unhashed version, if the bucket keeps versions, goes.
   */
  private async stampDigest(
    objectKey: string,
    head: HeadObjectCommandOutput,
    digest: Digest,
    tags: Tags,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HeadObjectCommandOutput> {
    const source = `${this.bucket}/${objectKey.split('/').map(encodeURIComponent).join('/')}`;
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: objectKey,
        CopySource: head.VersionId ? `${source}?versionId=${encodeURIComponent(head.VersionId)}` : source,
        MetadataDirective: 'REPLACE',
        Metadata: { ...tags, sha256: digest.sha256 },
        ContentType: contentType ?? head.ContentType,
      }),
      { abortSignal: signal },
    );
    const stamped = await this.headObject(objectKey, signal);
    if (stamped.ContentLength !== digest.size || stamped.Metadata?.['sha256'] !== digest.sha256) {
      throw new StorageError('VERIFY_FAILED', `put ${objectKey}: the copy holding the digest does not match what was sent`);
    }
    if (head.VersionId && stamped.VersionId !== head.VersionId) await this.discard(objectKey, head.VersionId);
    return stamped;
  }

  /** The tagging header is not honoured everywhere (see upload.ts): read the tags back and set them if they differ. */
  private async ensureTags(objectKey: string, versionId: string | undefined, tags: Tags, signal: AbortSignal | undefined): Promise<void> {
    const current = await this.client.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId }), { abortSignal: signal });
    if (sameTags(tagsOf(current.TagSet), tags)) return;
    await this.client.send(
      new PutObjectTaggingCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId, Tagging: { TagSet: tagSetOf(tags) } }),
      { abortSignal: signal },
    );
  }

  /** Best effort: removes a version that failed verification or was superseded. */
  private async discard(objectKey: string, versionId: string | undefined): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey, VersionId: versionId }));
    } catch (err) {
      this.log.warn({ key: objectKey, versionId, err }, 'could not remove an unverified object version');
    }
  }
}
