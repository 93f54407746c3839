/**
 * The S3 object store: recording segments streamed to a bucket while the call
 * runs, tagged, verified, and optionally locked (Object Lock retention).
 *
 * A put is confirmed by the server, not by the upload's answer: HeadObject
 * gives the stored size (some servers return no ETag for a multipart upload),
 * the SHA-256 taken while streaming is kept in the object's metadata, and the
 * tags are read back. Retention is set only after all that matched, so an
 * object that failed verification can still be removed.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { silentLogger, type Logger } from '../ops/log.js';
import { StorageError, type ObjectInfo, type ObjectStore, type PutOptions, type StoredObject } from './store.js';
import { DigestMeter, digestOf, type Digest } from './s3/digest.js';
import { isNotFound, storageErrorOf } from './s3/errors.js';
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
  /** Parts in flight per upload (each buffered in memory). Default 4. */
  readonly queueSize?: number;
  /** SDK attempts per request, first included. Default 3. */
  readonly maxAttempts?: number;
  /** TCP connect timeout. Default: the SDK's (none). */
  readonly connectTimeoutMs?: number;
  /** Socket inactivity timeout per request. Default: the SDK's (none). */
  readonly requestTimeoutMs?: number;
  /** Keys per ListObjectsV2 page. Default 1000. */
  readonly listPageSize?: number;
}

const MiB = 1024 * 1024;
/** HeadObject per listed key, to report its SHA-256: a few at a time, not a page at once. */
const LIST_HEADS_IN_FLIGHT = 8;

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
    this.client = new S3Client({
      ...(opts.region !== undefined ? { region: opts.region } : {}),
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials !== undefined ? { credentials: { ...opts.credentials } } : {}),
      ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      // Newer SDKs add CRC32 checksums to every request by default; S3-compatible servers do not all accept them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        ...(opts.connectTimeoutMs !== undefined ? { connectionTimeout: opts.connectTimeoutMs } : {}),
        ...(opts.requestTimeoutMs !== undefined ? { requestTimeout: opts.requestTimeoutMs } : {}),
      },
    });
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<StoredObject> {
    const objectKey = this.objectKey(key);
    const signal = opts.signal;
    let meter: DigestMeter | undefined;
    try {
      let known: Digest | undefined;
      let uploadBody: Readable | Buffer;
      if (Buffer.isBuffer(body)) {
        // The whole body is at hand: refuse a mismatch before anything is written.
        known = digestOf(body);
        this.verify(key, known, opts);
        uploadBody = body;
      } else {
        meter = new DigestMeter();
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
        queueSize: this.opts.queueSize ?? 4,
        ...(signal !== undefined ? { signal } : {}),
      });
      const digest = known ?? (meter as DigestMeter).digest();

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

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const listPrefix = this.objectKey(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, ContinuationToken: token, MaxKeys: this.opts.listPageSize ?? 1000 }),
        );
      } catch (err) {
        throw storageErrorOf(err, `list ${prefix}`);
      }
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key !== undefined ? [o.Key] : []));
      const found = await inBatches(keys, LIST_HEADS_IN_FLIGHT, (k) => this.storedObject(k));
      for (const object of found) if (object) yield object;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
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
      for (const versionId of await this.versionsOf(objectKey)) {
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
    if (current) return;
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

  private async storedObject(objectKey: string): Promise<StoredObject | undefined> {
    try {
      const head = await this.headObject(objectKey);
      return { key: this.storeKey(objectKey), size: head.ContentLength ?? 0, sha256: head.Metadata?.['sha256'] ?? '' };
    } catch (err) {
      // Deleted between the listing and the head: it is no longer there to report.
      if (isNotFound(err)) return undefined;
      throw storageErrorOf(err, `list ${this.storeKey(objectKey)}`);
    }
  }

  private async versionsOf(objectKey: string): Promise<string[]> {
    const ids: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: objectKey, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (v.Key === objectKey && v.VersionId !== undefined) ids.push(v.VersionId);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
    return ids;
  }
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping their order. */
async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}
