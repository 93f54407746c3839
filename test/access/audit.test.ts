import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AuditLog, GENESIS_HASH, verifyAuditLog, type AuditEntry } from '../../src/access/audit.js';

async function auditPath(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'nested', 'dir', 'audit.jsonl');
}

async function opened(t: TestContext, file: string): Promise<AuditLog> {
  const log = await AuditLog.open(file);
  t.after(() => log.close());
  return log;
}

const entry = (i: number): AuditEntry => ({ action: 'pause', callId: `call-${i}`, by: 'jsmith', outcome: 'ok', details: { remote: '127.0.0.1', reason: `r${i}` } });

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
}

test('a new log is created with its directory, mode 0600, one hash-chained JSON record per line', async (t) => {
  const file = await auditPath(t);
  const log = await opened(t, file);
  const first = await log.append(entry(1));
  const second = await log.append({ action: 'unauthorized', by: 'unauthenticated', outcome: 'unauthorized' });
  await log.close();

  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const [l1, l2] = await lines(file);
  const r1 = JSON.parse(l1 ?? '') as Record<string, unknown>;
  assert.deepEqual(r1, first);
  assert.equal(r1['seq'], 1);
  assert.match(String(r1['at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // hash = sha256(previous hash + this record's JSON without its hash)
  const { hash: _h1, ...body1 } = first;
  assert.equal(first.hash, createHash('sha256').update(GENESIS_HASH + JSON.stringify(body1)).digest('hex'));
  const { hash: _h2, ...body2 } = second;
  assert.equal(second.hash, createHash('sha256').update(first.hash + JSON.stringify(body2)).digest('hex'));
  assert.equal(second.seq, 2);
  assert.equal('callId' in second, false);
  assert.deepEqual(JSON.parse(l2 ?? ''), second);
  assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 2 });
});

test('the chain continues across a reopen', async (t) => {
  const file = await auditPath(t);
  const a = await AuditLog.open(file);
  await a.append(entry(1));
  await a.append(entry(2));
  await a.close();

  const b = await opened(t, file);
  assert.equal(b.lastSeq, 2);
  assert.equal(b.cutBytes, 0);
  const third = await b.append(entry(3));
  assert.equal(third.seq, 3);
  await b.close();
  assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 3 });
});

test('an edited line is detected, even with its own hash recomputed', async (t) => {
  const file = await auditPath(t);
  const log = await opened(t, file);
  for (let i = 1; i <= 4; i++) await log.append(entry(i));
  await log.close();
  const original = await lines(file);

  const edited = [...original];
  edited[1] = (edited[1] ?? '').replace('"by":"jsmith"', '"by":"nobody"');
  await writeFile(file, `${edited.join('\n')}\n`);
  assert.deepEqual(await verifyAuditLog(file), { ok: false, records: 1, brokenAt: 2 });

  // A forger who rehashes the edited line still breaks the link to the next one.
  const rec = JSON.parse(edited[1] ?? '') as Record<string, unknown>;
  delete rec['hash'];
  const prev = (JSON.parse(original[0] ?? '') as { hash: string }).hash;
  const body = JSON.stringify(rec);
  const hash = createHash('sha256').update(prev + body).digest('hex');
  edited[1] = `${body.slice(0, -1)},"hash":"${hash}"}`;
  await writeFile(file, `${edited.join('\n')}\n`);
  assert.deepEqual(await verifyAuditLog(file), { ok: false, records: 2, brokenAt: 3 });
});

test('a deleted line is detected, first or in the middle', async (t) => {
  const file = await auditPath(t);
  const log = await opened(t, file);
  for (let i = 1; i <= 4; i++) await log.append(entry(i));
  await log.close();
  const original = await lines(file);

  await writeFile(file, `${original.filter((_, i) => i !== 2).join('\n')}\n`);
  assert.deepEqual(await verifyAuditLog(file), { ok: false, records: 2, brokenAt: 3 });

  await writeFile(file, `${original.slice(1).join('\n')}\n`);
  assert.deepEqual(await verifyAuditLog(file), { ok: false, records: 0, brokenAt: 1 });

  // Two lines swapped.
  await writeFile(file, `${[original[0], original[2], original[1], original[3]].join('\n')}\n`);
  assert.deepEqual(await verifyAuditLog(file), { ok: false, records: 1, brokenAt: 2 });
});

test('concurrent appends are written one at a time, in the order they were made', async (t) => {
  const file = await auditPath(t);
  const log = await opened(t, file);
  const n = 40;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => log.append(entry(i))));
  assert.deepEqual(
    results.map((r) => r.seq),
    Array.from({ length: n }, (_, i) => i + 1),
  );
  await log.close();
  const written = (await lines(file)).map((l) => JSON.parse(l) as { seq: number; callId: string });
  assert.deepEqual(
    written.map((r) => r.callId),
    Array.from({ length: n }, (_, i) => `call-${i}`),
  );
  assert.deepEqual(await verifyAuditLog(file), { ok: true, records: n });
});

test('an append that cannot be serialised fails alone and leaves the chain intact', async (t) => {
  const file = await auditPath(t);
  const log = await opened(t, file);
  const [a, bad, c] = await Promise.allSettled([log.append(entry(1)), log.append({ ...entry(2), details: { n: 1n } }), log.append(entry(3))]);
  assert.equal(a.status, 'fulfilled');
  assert.equal(bad.status, 'rejected');
  assert.equal(c.status === 'fulfilled' && c.value.seq, 2);
  await log.close();
  assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 2 });
});

test('a torn last line (a crash inside an append) fails verification and is cut on reopen', async (t) => {
  const file = await auditPath(t);
  const a = await AuditLog.open(file);
  await a.append(entry(1));
  await a.append(entry(2));
  await a.close();
  await appendFile(file, '{"seq":3,"at":"2024-01-0');
  assert.deepEqual(await verifyAuditLog(file), { ok: false, records: 2, brokenAt: 3 });

  const b = await opened(t, file);
  assert.equal(b.cutBytes, '{"seq":3,"at":"2024-01-0'.length);
  assert.equal((await b.append(entry(3))).seq, 3);
  await b.close();
  assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 3 });
});

test('a log whose last line is no record is refused; an existing file is tightened to 0600', async (t) => {
  const file = await auditPath(t);
  const a = await AuditLog.open(file);
  await a.append(entry(1));
  await a.close();
  await chmod(file, 0o644);
  const b = await AuditLog.open(file);
  await b.close();
  assert.equal((await stat(file)).mode & 0o777, 0o600);

  await appendFile(file, 'not a record\n');
  await assert.rejects(AuditLog.open(file), { code: 'AUDIT_CORRUPT' });
});

test('append after close is refused; close is idempotent and waits for pending appends', async (t) => {
  const file = await auditPath(t);
  const log = await AuditLog.open(file);
  const pending = log.append(entry(1));
  await Promise.all([log.close(), log.close()]);
  assert.equal((await pending).seq, 1);
  await assert.rejects(log.append(entry(2)), { code: 'AUDIT_CLOSED' });
  assert.deepEqual(await verifyAuditLog(file), { ok: true, records: 1 });
});
