/**
 * Size and SHA-256 of a body, taken while it streams past, so a segment that is
 * still being written is hashed without a second read of the spool.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface Digest {
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

export function digestOf(body: Buffer): Digest {
  return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

export class DigestMeter extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private result: Digest | undefined;

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.hash.update(bytes);
    this.bytes += bytes.length;
    callback(null, bytes);
  }

  override _flush(callback: TransformCallback): void {
    this.result = { size: this.bytes, sha256: this.hash.digest('hex') };
    callback();
  }

  /** Only once the whole body has passed: a digest of part of a segment would verify nothing. */
  digest(): Digest {
    if (!this.result) throw new Error('digest read before the body ended');
    return this.result;
  }
}
