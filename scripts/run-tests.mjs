// Runs every test/**/*.test.ts with node's test runner (tsx loads TypeScript).
// Two files run at a time: most of the suite's time is SIPp calls playing
// audio in real time, which leave the cores idle. Every port a test binds is
// either checked free first or bound by an allocator that skips ports in use,
// so two files never take the same one.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : find('test').sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
