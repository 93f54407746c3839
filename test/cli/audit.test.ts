import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from '../../src/access/audit.js';
import { AuditShipper } from '../../src/access/audit-shipper.js';
import { UsageError } from '../../src/cli/args.js';
import { runAudit } from '../../src/cli/audit.js';
import { silentLogger } from '../../src/ops/log.js';
import { FsStore } from '../../src/storage/fs.js';

async function verify(file: string): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await runAudit(['verify', file], { write: (s: string) => (text += s) });
  return { code, text };
}

test('audit verify: a whole log passes; an edited record fails naming its line', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'recgw-audit-cli-')), 'audit.log');
  const log = await AuditLog.open(file);
  await log.append({ action: 'pause', callId: 'c1', by: 'jsmith', outcome: 'ok' });
  await log.append({ action: 'opt-out', callId: 'c1', by: 'caller-key', outcome: 'ok', details: { discarded: true } });
  await log.append({ action: 'resume', callId: 'c2', by: 'jsmith', outcome: 'not-paused' });
  await log.close();

  assert.deepEqual(await verify(file), { code: 0, text: `${file}: 3 records, chain intact\n` });

  const lines = readFileSync(file, 'utf8').split('\n');
  lines[1] = (lines[1] ?? '').replace('caller-key', 'someone-else');
  writeFileSync(file, lines.join('\n'));
  const broken = await verify(file);
  assert.equal(broken.code, 1);
  assert.match(broken.text, /chain broken at line 2 \(1 records before it are intact\)/);
});

test('audit verify --store: the copies in the config\'s store, intact, then one edited; usage mistakes refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-audit-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const storeDir = join(dir, 'store');
  const store = new FsStore({ dir: storeDir });
  const file = join(dir, 'audit.log');
  const log = await AuditLog.open(file);
  const shipper = new AuditShipper({ store, file, host: 'gw-1', log: silentLogger(), intervalMs: 3_600_000 });
  await shipper.start();
  await log.append({ action: 'hold', callId: 'c1', by: 'records', outcome: 'ok' });
  await shipper.shipNow();
  await log.append({ action: 'release-hold', callId: 'c1', by: 'records', outcome: 'ok' });
  await shipper.stop();
  await log.close();
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `storage: { kind: fs, dir: ${JSON.stringify(storeDir)} }\n`);
  const run = async (args: string[]): Promise<{ code: number; text: string }> => {
    let text = '';
    const code = await runAudit(['verify', ...args], { write: (s: string) => (text += s) });
    return { code, text };
  };

  assert.deepEqual(await run(['--store', '--config', config]), { code: 0, text: 'gw-1: intact: records 1-2 in 2 copies\n' });
  const none = await run(['--store', '--host', 'gw-9', '--config', config]);
  assert.equal(none.code, 1);
  assert.match(none.text, /no audit log copies of gw-9/);

  const keys: string[] = [];
  for await (const o of store.list('audit/')) keys.push(o.key);
  const [, second] = keys.sort();
  assert.ok(second !== undefined);
  writeFileSync(join(storeDir, second), readFileSync(join(storeDir, second), 'utf8').replace('release-hold', 'hold'));
  const broken = await run(['--store', '--config', config]);
  assert.equal(broken.code, 1);
  assert.match(broken.text, /^gw-1: BROKEN: records 1-1 in 1 copy\n {2}- audit\/gw-1\/000000000002-000000000002-[0-9a-f]+\.jsonl: its records' hashes do not check/);

  await assert.rejects(run(['--store', file, '--config', config]), UsageError);
  await assert.rejects(run([file, '--host', 'gw-1']), UsageError);
});
