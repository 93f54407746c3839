import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditLog } from '../../src/access/audit.js';
import { runAudit } from '../../src/cli/audit.js';

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
