import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root (where package.json is), found by walking up from this
 * module, so shipped files (assets/, sip-test/) resolve the same whether the
 * code runs from src/ through tsx or compiled from dist/src/.
 */
export const PROJECT_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'assets'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('recgw: cannot find the project root (package.json beside assets/)');
    dir = parent;
  }
})();
