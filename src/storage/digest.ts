/**
 * Size and SHA-256 of bytes as they pass: what the uploader streamed is what it
 * asks the store to confirm.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

export interface Digest {
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

/** A pass-through that counts and hashes; read `digest()` after it ended. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private result: Digest | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): Digest {
    this.result ??= { size: this.bytes, sha256: this.hash.digest('hex') };
    return this.result;
  }
}

export async function digestFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
