/**
 * Listing for the store: ListObjectsV2 page by page, and every version of one
 * key (what a delete in an Object Lock bucket has to remove).
 */
import { HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StoredObject } from '../store.js';
import { isNotFound } from './errors.js';

/** ListObjectsV2 carries no metadata: one HeadObject per key gives its SHA-256, a few at a time. */
const HEADS_IN_FLIGHT = 8;

export interface ListRequest {
  readonly client: S3Client;
  readonly bucket: string;
  /** Full object-key prefix. */
  readonly prefix: string;
  readonly pageSize: number;
  /** Object key → the store's key (without the store prefix). */
  readonly storeKey: (objectKey: string) => string;
}

export async function* listObjects(req: ListRequest): AsyncIterable<StoredObject> {
  let token: string | undefined;
  do {
    const page = await req.client.send(new ListObjectsV2Command({ Bucket: req.bucket, Prefix: req.prefix, ContinuationToken: token, MaxKeys: req.pageSize }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key !== undefined ? [o.Key] : []));
    for (let i = 0; i < keys.length; i += HEADS_IN_FLIGHT) {
      const found = await Promise.all(keys.slice(i, i + HEADS_IN_FLIGHT).map((k) => storedObject(req, k)));
      for (const object of found) if (object) yield object;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

async function storedObject(req: ListRequest, objectKey: string): Promise<StoredObject | undefined> {
  try {
    const head = await req.client.send(new HeadObjectCommand({ Bucket: req.bucket, Key: objectKey }));
    return { key: req.storeKey(objectKey), size: head.ContentLength ?? 0, sha256: head.Metadata?.['sha256'] ?? '' };
  } catch (err) {
    // Deleted between the listing and the head: it is no longer there to report.
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Version ids of exactly `objectKey`, delete markers included unless `markers` is false. */
export async function versionsOf(client: S3Client, bucket: string, objectKey: string, opts: { readonly markers?: boolean } = {}): Promise<string[]> {
  const ids: string[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: objectKey, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    for (const v of [...(page.Versions ?? []), ...(opts.markers === false ? [] : (page.DeleteMarkers ?? []))]) {
      if (v.Key === objectKey && v.VersionId !== undefined) ids.push(v.VersionId);
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
  return ids;
}
