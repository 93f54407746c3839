/**
 * Maps what the AWS SDK throws onto the store's error codes, so the uploader
 * branches on STORE_UNAVAILABLE (retry later) versus STORE_REJECTED (fix the
 * configuration: a retry will not help) and never on SDK error names.
 */
import { StorageError } from '../store.js';

/** The HTTP status the SDK attached to a service error, if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

export function errorNameOf(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/** HEAD has no body, so a missing object arrives as a bare 404 named NotFound. */
export function isNotFound(err: unknown): boolean {
  const name = errorNameOf(err);
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchVersion';
}

export function storageErrorOf(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const name = errorNameOf(err);
  const status = httpStatusOf(err);
  if (name === 'AbortError') return new StorageError('STORE_UNAVAILABLE', `${what}: aborted`, { cause: err });
  if (isNotFound(err)) return new StorageError('NOT_FOUND', `${what}: no such object`, { cause: err });
  // 408 and 429 are the server asking us to come back later, not a refusal.
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new StorageError('STORE_REJECTED', `${what}: ${name} (HTTP ${status})`, { cause: err });
  }
  const detail = status !== undefined ? `${name} (HTTP ${status})` : err instanceof Error ? `${name}: ${err.message}` : String(err);
  return new StorageError('STORE_UNAVAILABLE', `${what}: ${detail}`, { cause: err });
}
