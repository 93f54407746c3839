// Installs what the suite needs when it is missing: the locked npm packages,
// and the test peers. SIPp (Debian package sip-tester) plays the trunk and the
// agent queue; Ceph's RADOS gateway with one monitor and one in-memory OSD is
// the S3 server; Prometheus scrapes the metrics and its promtool lints them. As root we install them through apt; otherwise we stop and
// name the package, never half-run the suite.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A fresh clone has no node_modules: the type check, lint and test loader
// come from the lock file, so `npm test` alone works there too.
const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  process.stderr.write('installing the locked npm dependencies (npm ci) ...\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: root });
}

const needed = [
  { command: 'sipp', pkg: 'sip-tester' },
  { command: 'radosgw', pkg: 'radosgw' },
  { command: 'ceph-mon', pkg: 'ceph-mon' },
  { command: 'ceph-osd', pkg: 'ceph-osd' },
  { command: 'prometheus', pkg: 'prometheus' },
  { command: 'promtool', pkg: 'prometheus' },
];

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = needed.filter((n) => !has(n.command));
if (missing.length > 0) {
  const pkgs = missing.map((m) => m.pkg);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    process.stderr.write(`recgw tests need: ${pkgs.join(' ')} (Debian packages). Install them: sudo apt-get install -y ${pkgs.join(' ')}\n`);
    process.exit(1);
  }
  process.stderr.write(`installing ${pkgs.join(' ')} ...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  for (const m of missing) {
    if (!has(m.command)) {
      process.stderr.write(`installed ${m.pkg} but '${m.command}' is still not on PATH\n`);
      process.exit(1);
    }
  }
}
