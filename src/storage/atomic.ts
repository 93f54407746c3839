/**
 * Small durable-file helpers shared by the filesystem store and the spool.
 * "Atomic" here means: write a hidden temp file in the same directory, fsync
 * it, rename it over the target, fsync the directory. A reader (or a process
 * starting after a crash) sees the old file or the whole new one, never half.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * A hidden temp name next to `path`. The leading dot is what readers skip:
 * store keys and spool ids never start with one.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes the whole buffer; a regular file may still take it in several writes. */
export async function writeAll(fh: FileHandle, buf: Buffer, position: number | null = null): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await fh.write(buf, offset, buf.length - offset, position === null ? null : position + offset);
    offset += bytesWritten;
  }
}

/** Makes renames and unlinks in `dir` survive a power cut, not only a process crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Writes `data` to `path` atomically (see above), created with mode 0600. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx', FILE_MODE);
  try {
    await writeAll(fh, typeof data === 'string' ? Buffer.from(data) : data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlinkIfPresent(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlinkIfPresent(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(path));
}
