/**
 * A real S3 server for the storage tests: Ceph RGW from Debian's packages, on
 * loopback only. One monitor, one OSD keeping its objects in memory (memstore),
 * cephx off, RGW's beast frontend on a free port and one S3 user with a
 * generated key. Everything lives in a temp dir that shutdown() removes.
 *
 * Daemons run in the foreground as our children under `setpriv --pdeathsig`, so
 * they die with the test process even when it is killed; an exit hook covers
 * the ordinary case too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../src/cli/free-port.js';

export interface S3Server {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  createBucket(name: string, opts?: { objectLock?: boolean }): Promise<void>;
  /** Stops RGW only (an outage); restart() brings it back on the same port. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops every daemon and removes the data dir. */
  shutdown(): Promise<void>;
}

const COMMANDS = ['ceph', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool'];

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function s3ServerAvailable(): boolean {
  return COMMANDS.every(has);
}

/** Every daemon alive in this process, killed on exit whatever the tests did. */
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const withPdeathsig = has('setpriv');

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.1/32
ms bind ipv6 = false
# cephx off: with no keys, the messenger must be allowed its crc mode (RGW asks for secure only otherwise).
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms client mode = crc secure
keyring = /dev/null
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
crash dir = ${dir}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
[mon]
mon data = ${dir}/mon/$cluster-$id
[osd]
osd data = ${dir}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 1073741824
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw enable usage log = false
`;
}

function run(dir: string, cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

function daemon(dir: string, name: string, cmd: string, args: string[]): ChildProcess {
  const out = openSync(join(dir, 'log', `${name}.out`), 'a');
  const argv = withPdeathsig ? ['--pdeathsig', 'SIGKILL', cmd, ...args] : args;
  const child = spawn(withPdeathsig ? 'setpriv' : cmd, argv, { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGKILL: an outage, and memstore would otherwise spend time saving what shutdown deletes anyway.
  child.kill('SIGKILL');
  await exited;
}

/** Any HTTP answer on `port` means RGW serves. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

async function waitForRgw(dir: string, port: number, child: ChildProcess, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await answers(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > until) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'log', 'rgw.out'), 'utf8').slice(-2000);
      } catch {
        // no log written yet
      }
      throw new Error(`RGW did not answer on port ${port} within ${ms} ms: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const DIR_PREFIX = 'recgw-s3-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A test process killed outright leaves its data dir behind (its daemons die with it): remove those. */
function removeOrphanedDirs(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
  }
}

export async function startS3Server(): Promise<S3Server> {
  if (!s3ServerAvailable()) throw new Error(`the S3 test server needs: ${COMMANDS.join(' ')} (Debian packages radosgw ceph-mon ceph-osd)`);
  removeOrphanedDirs();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  dirs.add(dir);
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const daemons: ChildProcess[] = [];
  let rgw: ChildProcess | undefined;
  const shutdown = async (): Promise<void> => {
    await Promise.all([rgw, ...daemons].filter((c): c is ChildProcess => c !== undefined).map(kill));
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    for (const sub of ['run', 'log', 'crash', 'mon', 'osd/ceph-0']) mkdirSync(join(dir, sub), { recursive: true });
    const fsid = randomUUID();
    const monPort = await freePort();
    const rgwPort = await freePort();
    const conf = join(dir, 'ceph.conf');
    writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort));

    run(dir, 'monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, '--enable-all-features', '--set-min-mon-release', 'pacific', join(dir, 'monmap')]);
    run(dir, 'ceph-mon', ['--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '-c', conf]);
    daemons.push(daemon(dir, 'mon', 'ceph-mon', ['-f', '-i', 'a', '-c', conf]));
    // `ceph` waits for the monitor to form quorum, so this is also the readiness check.
    const osdId = run(dir, 'ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'create']).trim();
    if (osdId !== '0') throw new Error(`expected OSD id 0, got '${osdId}'`);
    run(dir, 'ceph-osd', ['--mkfs', '-i', '0', '-c', conf]);
    daemons.push(daemon(dir, 'osd', 'ceph-osd', ['-f', '-i', '0', '-c', conf]));
    const startRgw = (): ChildProcess => daemon(dir, 'rgw', 'radosgw', ['-f', '-n', 'client.rgw', '-c', conf]);
    rgw = startRgw();
    await waitForRgw(dir, rgwPort, rgw);

    const accessKeyId = `RECGW${randomBytes(8).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(24).toString('base64url');
    run(dir, 'radosgw-admin', ['-c', conf, 'user', 'create', '--uid=recgw', '--display-name=recgw', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`]);

    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const region = 'us-east-1';
    return {
      endpoint,
      accessKeyId,
      secretAccessKey,
      region,
      createBucket: async (name, opts = {}) => {
        const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
        try {
          await client.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: opts.objectLock === true }));
        } finally {
          client.destroy();
        }
      },
      stop: async () => {
        if (rgw) await kill(rgw);
      },
      restart: async () => {
        if (rgw) await kill(rgw);
        rgw = startRgw();
        await waitForRgw(dir, rgwPort, rgw);
      },
      shutdown,
    };
  } catch (err) {
    await shutdown();
    throw err;
  }
}
