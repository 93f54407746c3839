/**
 * The object-store port. The spool's uploader talks only to this, so the
 * filesystem store (embedded default) and the S3 store are interchangeable.
 */
import type { Readable } from 'node:stream';
import { RecgwError } from '../errors.js';

/** The tags every recording object carries (S3 allows ten; we keep to these). */
export interface RecordingTags {
  readonly line: string;
  readonly operator: string;
  /** ISO-8601 UTC start of the segment. */
  readonly started: string;
  readonly leg: string;
  readonly 'call-id': string;
  readonly direction: string;
  /** Retention in days. */
  readonly retention: string;
}

export interface PutOptions {
  /** Tags, also stored as object metadata. */
  readonly tags: Readonly<Record<string, string>>;
  readonly contentType?: string;
  /**
   * Expected size and SHA-256 (hex) of the whole body, when known before the
   * upload starts; the store verifies what it wrote against them. When the body
   * is a growing stream, pass them to `verify` after it ends instead.
   */
  readonly size?: number;
  readonly sha256?: string;
  /** Object Lock retention, when the store and bucket support it. */
  readonly retainUntil?: Date;
  readonly signal?: AbortSignal;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** SHA-256 (hex) of the stored bytes, as the store confirms it. */
  readonly sha256: string;
}

/**
 * What a listing says of an object: its key and size. No digest: S3's listing
 * carries none, and fetching one per key made listing a large store cost a
 * request per object (hours for a million calls); `head` has it.
 */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

export interface ObjectInfo extends StoredObject {
  readonly tags: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified: Date;
}

export interface ObjectStore {
  readonly kind: 'fs' | 's3';
  /** Human-readable location for logs and the CLI (a directory, or s3://bucket/prefix). */
  readonly location: string;
  /**
   * Streams `body` to `key`. Resolves only when the store holds the whole
   * object and it matches the size/sha256 given (or computed while streaming).
   * Readers never see a partial object. Rejects with StorageError; the caller retries.
   */
  put(key: string, body: Readable | Buffer, opts: PutOptions): Promise<StoredObject>;
  /** null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  get(key: string): Promise<Readable>;
  list(prefix: string): AsyncIterable<ListedObject>;
  /**
   * The names of the folders directly under `prefix` (`''`, or a prefix
   * ending in `/`), sorted: one request per thousand folders, where `list`
   * would go through every object beneath them.
   */
  folders(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /**
   * Sets or clears the store's own legal hold on every version of an object,
   * where it has one (S3 Object Lock): while set, nothing deletes the object,
   * a lifecycle rule included. Absent: the store has no such thing.
   */
  legalHold?(key: string, on: boolean): Promise<void>;
}

export type StorageErrorCode = 'STORE_UNAVAILABLE' | 'STORE_REJECTED' | 'NOT_FOUND' | 'VERIFY_FAILED' | 'SPOOL_FULL' | 'SPOOL_CORRUPT';

export class StorageError extends RecgwError {
  constructor(code: StorageErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
