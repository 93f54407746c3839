/** The gateway's version, as its package.json says, read once at start-up. */
import { readFileSync } from 'node:fs';

/**
 * Run from the sources or from the build (one folder deeper), so the package
 * file is looked for upwards; a copy without it reports `unknown`.
 */
export function packageVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 4; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'recgw' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here: look one folder up.
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}
