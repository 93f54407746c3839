/**
 * One object upload through lib-storage's Upload: a single PUT for a small
 * body, a multipart upload for a stream, so parts go out while the segment is
 * still being written.
 *
 * Upload only reports a failed part once every one of its part workers has
 * drawn a further chunk from the body, which for a live segment can be minutes
 * away. So its client is watched: the first request that fails aborts the
 * whole upload at once, and that first failure is what the caller sees.
 */
import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { taggingHeader, type Tags } from './tags.js';

export interface UploadRequest {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable | Buffer;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tags: Tags;
  readonly contentType?: string;
  readonly partSize: number;
  readonly queueSize: number;
  readonly signal?: AbortSignal;
}

type Send = (command: Parameters<S3Client['send']>[0], options?: { abortSignal?: AbortSignal }) => Promise<unknown>;

export async function uploadObject(req: UploadRequest): Promise<void> {
  const abort = new AbortController();
  let firstFailure: unknown;
  const onCallerAbort = (): void => abort.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (req.signal?.aborted) onCallerAbort();

  const send: Send = async (command, options) => {
    // Cleaning up an aborted multipart upload must still reach the server.
    const abortSignal = command instanceof AbortMultipartUploadCommand ? options?.abortSignal : abort.signal;
    try {
      return await (req.client.send as Send)(command, { ...options, abortSignal });
    } catch (err) {
      if (firstFailure === undefined && !abort.signal.aborted) {
        firstFailure = err;
        abort.abort(err);
      }
      throw err;
    }
  };
  const watched = new Proxy(req.client, {
    get: (target, prop) => (prop === 'send' ? send : (Reflect.get(target, prop, target) as unknown)),
  });

  const upload = new Upload({
    client: watched,
    params: {
      Bucket: req.bucket,
      Key: req.key,
      Body: req.body,
      Metadata: { ...req.metadata },
      // Honoured on a single PUT; some servers (Ceph RGW 16) drop it on a multipart upload, so the store checks tags afterwards.
      Tagging: taggingHeader(req.tags),
      ...(req.contentType !== undefined ? { ContentType: req.contentType } : {}),
    },
    partSize: req.partSize,
    queueSize: req.queueSize,
    leavePartsOnError: false,
    abortController: abort,
  });
  try {
    await upload.done();
  } catch (err) {
    throw firstFailure ?? err;
  } finally {
    req.signal?.removeEventListener('abort', onCallerAbort);
  }
}
