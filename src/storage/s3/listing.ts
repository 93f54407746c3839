/**
 * Listing for the store: ListObjectsV2 page by page, the folders under a
 * prefix, and every version of one key (what a delete in an Object Lock
 * bucket has to remove).
 */
import { ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ListedObject } from '../store.js';

export interface ListRequest {
  readonly client: S3Client;
  readonly bucket: string;
  /** Full object-key prefix. */
  readonly prefix: string;
  readonly pageSize: number;
  /** Object key → the store's key (without the store prefix). */
  readonly storeKey: (objectKey: string) => string;
}

/** One request per page of keys: nothing is asked of each object (a head per key made a large store's listing take hours). */
export async function* listObjects(req: ListRequest): AsyncIterable<ListedObject> {
  let token: string | undefined;
  do {
    const page = await req.client.send(new ListObjectsV2Command({ Bucket: req.bucket, Prefix: req.prefix, ContinuationToken: token, MaxKeys: req.pageSize }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) yield { key: req.storeKey(o.Key), size: o.Size ?? 0 };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** The names of the folders directly under `req.prefix` (which ends in `/`, or is empty): S3's common prefixes at the delimiter. */
export async function listFolders(req: Omit<ListRequest, 'storeKey'>): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await req.client.send(new ListObjectsV2Command({ Bucket: req.bucket, Prefix: req.prefix, Delimiter: '/', ContinuationToken: token, MaxKeys: req.pageSize }));
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) names.push(p.Prefix.slice(req.prefix.length, -1));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return names.sort();
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
