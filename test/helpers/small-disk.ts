/**
 * A small tmpfs of its own for a test: a real file system that really runs
 * out of space (ENOSPC), and gets it back when the filler goes. Mounting needs
 * root, as the test command's package installs do; where it is refused the
 * caller skips, naming why.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallDisk {
  readonly dir: string;
  /** Fills the disk until only `leaveBytes` are free. */
  fill(leaveBytes: number): Promise<void>;
  /** Removes the filler: the space is back. */
  free(): Promise<void>;
}

/** A tmpfs of `bytes`, unmounted after the test; a string (why not) where it cannot be mounted. */
export async function smallDisk(t: TestContext, bytes: number): Promise<SmallDisk | string> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    await rmdir(dir);
    return `cannot mount a small tmpfs here (needs root): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  t.after(async () => {
    await run('umount', ['-l', dir]).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  });
  const filler = join(dir, 'filler');
  return {
    dir,
    fill: async (leaveBytes) => {
      const fs = await statfs(dir);
      await writeFile(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - leaveBytes)));
    },
    free: () => rm(filler, { force: true }),
  };
}
