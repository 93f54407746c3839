/**
 * Runs one measurement in a process of its own and returns the figures it
 * prints as its last line of JSON. It inherits this process's core (the
 * system under test's); its peers move to the peer core themselves.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function runBenchChild<T>(script: string, args: readonly string[]): Promise<T> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${script} ${args.join(' ')} exited ${String(code)}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}
