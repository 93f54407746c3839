import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyAuditLog } from '../../src/access/audit.js';
import type { ActiveCallView, RetentionControl } from '../../src/control/types.js';
import type { SweepReport } from '../../src/retention/sweep.js';
import { readAudit, startHarness, TOKEN, type ErrorReply } from './harness.js';

test('GET /calls lists the active calls and GET /calls/:id shows one', async (t) => {
  const h = await startHarness(t);
  h.control.add('a1@trunk');
  h.control.add('b2@trunk', 'unrecorded');

  const list = await h.call('/calls');
  assert.equal(list.status, 200);
  assert.match(list.headers.get('content-type') ?? '', /^application\/json/);
  const { calls } = (await list.json()) as { calls: ActiveCallView[] };
  assert.deepEqual(
    calls.map((c) => [c.callId, c.capture]),
    [
      ['a1@trunk', 'recording'],
      ['b2@trunk', 'unrecorded'],
    ],
  );

  // Call-IDs hold characters a path must percent-encode.
  const one = await h.call(`/calls/${encodeURIComponent('a1@trunk')}`);
  assert.equal(one.status, 200);
  assert.deepEqual(((await one.json()) as { call: ActiveCallView }).call, h.control.get('a1@trunk'));

  const missing = await h.call('/calls/nobody');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as ErrorReply).error.code, 'call-not-found');

  const health = await h.call('/health');
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  // Reads change nothing and are not audited.
  assert.equal(h.audit.lastSeq, 0);
});

test('pause, resume, stop and opt-out act on the call, attribute it and are audited in order', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  h.control.add('c2');

  const paused = await h.call('/calls/c1/pause', { method: 'POST', body: JSON.stringify({ by: 'jsmith', reason: 'card details' }) });
  assert.equal(paused.status, 200);
  const p = ((await paused.json()) as { call: ActiveCallView }).call;
  assert.equal(p.capture, 'paused');
  assert.equal(p.pausedWindows[0]?.by, 'jsmith');

  // No body at all: attributed to "api".
  const resumed = await h.call('/calls/c1/resume', { method: 'POST' });
  assert.equal(resumed.status, 200);
  assert.equal(((await resumed.json()) as { call: ActiveCallView }).call.capture, 'recording');

  const stopped = await h.call('/calls/c1/stop', { method: 'POST', body: '{}' });
  assert.equal(stopped.status, 200);
  assert.equal(h.control.get('c1')?.capture, 'stopped');

  h.control.discardOnOptOut = 3;
  const optedOut = await h.call('/calls/c2/opt-out', { method: 'POST', body: JSON.stringify({ by: 'ivr' }) });
  assert.equal(optedOut.status, 200);
  const o = (await optedOut.json()) as { call: ActiveCallView; discarded: number };
  assert.equal(o.call.capture, 'stopped');
  assert.equal(o.discarded, 3);

  const records = await readAudit(h.auditFile);
  assert.deepEqual(
    records.map((r) => [r['seq'], r['action'], r['callId'], r['by'], r['outcome']]),
    [
      [1, 'pause', 'c1', 'jsmith', 'ok'],
      [2, 'resume', 'c1', 'api', 'ok'],
      [3, 'stop', 'c1', 'api', 'ok'],
      [4, 'opt-out', 'c2', 'ivr', 'ok'],
    ],
  );
  const first = records[0]?.['details'] as Record<string, unknown>;
  assert.equal(first['reason'], 'card details');
  assert.equal(first['remote'], '127.0.0.1');
  assert.equal((records[3]?.['details'] as Record<string, unknown>)['discarded'], 3);
  assert.deepEqual(await verifyAuditLog(h.auditFile), { ok: true, records: 4 });
});

test('an action the capture state forbids is a 409 with its code, changes nothing and is audited', async (t) => {
  const h = await startHarness(t);
  h.control.add('live');
  h.control.add('plain', 'unrecorded');
  const post = async (path: string): Promise<[number, string]> => {
    const r = await h.call(path, { method: 'POST', body: JSON.stringify({ by: 'sup' }) });
    return [r.status, ((await r.json()) as ErrorReply).error.code];
  };

  assert.deepEqual(await post('/calls/live/resume'), [409, 'not-paused']);
  assert.equal((await h.call('/calls/live/pause', { method: 'POST' })).status, 200);
  assert.deepEqual(await post('/calls/live/pause'), [409, 'already-paused']);
  assert.deepEqual(await post('/calls/plain/pause'), [409, 'not-recorded']);
  assert.deepEqual(await post('/calls/ghost/stop'), [404, 'call-not-found']);
  assert.equal((await h.call('/calls/live/stop', { method: 'POST' })).status, 200);
  assert.deepEqual(await post('/calls/live/resume'), [409, 'stopped']);
  assert.deepEqual(await post('/calls/live/opt-out'), [409, 'stopped']);

  assert.equal(h.control.get('plain')?.capture, 'unrecorded');
  assert.equal(h.control.get('live')?.pausedWindows.length, 1);
  const outcomes = (await readAudit(h.auditFile)).map((r) => `${String(r['action'])}:${String(r['outcome'])}`);
  assert.deepEqual(outcomes, [
    'resume:not-paused',
    'pause:ok',
    'pause:already-paused',
    'pause:not-recorded',
    'stop:call-not-found',
    'stop:ok',
    'resume:stopped',
    'opt-out:stopped',
  ]);
});

test('a malformed or oversized body is refused before the call is touched, and audited', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  const cases: [string, number, string][] = [
    ['{"by": "jsmith"', 400, 'bad-request'],
    ['["jsmith"]', 400, 'bad-request'],
    ['"jsmith"', 400, 'bad-request'],
    ['null', 400, 'bad-request'],
    ['{"By": "jsmith"}', 400, 'bad-request'],
    ['{"by": ""}', 400, 'bad-request'],
    ['{"by": 42}', 400, 'bad-request'],
    [JSON.stringify({ by: 'x'.repeat(65) }), 400, 'bad-request'],
    [JSON.stringify({ by: 'a\nb' }), 400, 'bad-request'],
    [JSON.stringify({ reason: 7 }), 400, 'bad-request'],
    [JSON.stringify({ by: 'jsmith', reason: 'r'.repeat(5000) }), 413, 'payload-too-large'],
  ];
  for (const [body, status, code] of cases) {
    const r = await h.call('/calls/c1/pause', { method: 'POST', body });
    assert.equal(r.status, status, body.slice(0, 40));
    const reply = (await r.json()) as ErrorReply;
    assert.equal(reply.error.code, code, body.slice(0, 40));
    assert.equal(typeof reply.error.message, 'string');
  }
  assert.equal(h.control.get('c1')?.capture, 'recording');
  const records = await readAudit(h.auditFile);
  assert.equal(records.length, cases.length);
  assert.deepEqual(
    records.map((r) => r['outcome']),
    cases.map(([, , code]) => code),
  );
});

test('a body streamed without a length is cut at the limit', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  const chunk = new TextEncoder().encode(' '.repeat(1024));
  let sent = 0;
  // Endless: only the server's limit ends it.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const r = await fetch(`${h.base}/calls/c1/pause`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body,
    duplex: 'half',
  });
  assert.equal(r.status, 413);
  assert.equal(((await r.json()) as ErrorReply).error.code, 'payload-too-large');
  assert.ok(sent > 4096);
  assert.equal(h.control.get('c1')?.capture, 'recording');
});

test('unknown routes are 404, wrong methods 405 naming the right one, bad call ids 400', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  const expect = async (path: string, method: string, status: number, code: string): Promise<Response> => {
    const r = await h.call(path, { method });
    assert.equal(r.status, status, `${method} ${path}`);
    assert.equal(((await r.json()) as ErrorReply).error.code, code, `${method} ${path}`);
    return r;
  };
  await expect('/', 'GET', 404, 'not-found');
  await expect('/calls/', 'GET', 404, 'not-found');
  await expect('/calls/c1/explode', 'POST', 404, 'not-found');
  await expect('/calls/c1/pause/now', 'POST', 404, 'not-found');
  await expect('/nothing', 'DELETE', 404, 'not-found');
  const r = await expect('/calls/c1/pause', 'GET', 405, 'method-not-allowed');
  assert.equal(r.headers.get('allow'), 'POST');
  assert.equal((await expect('/calls', 'POST', 405, 'method-not-allowed')).headers.get('allow'), 'GET');
  await expect('/health', 'DELETE', 405, 'method-not-allowed');
  await expect('/calls/%E0%A4%A', 'GET', 400, 'bad-request');
  await expect(`/calls/${'x'.repeat(300)}`, 'GET', 400, 'bad-request');
  await expect('/holds/c1/keep', 'POST', 404, 'not-found');
  await expect('/retention', 'POST', 404, 'not-found');
  assert.equal((await expect('/holds/c1', 'GET', 405, 'method-not-allowed')).headers.get('allow'), 'POST');
  assert.equal((await expect('/retention/sweep', 'GET', 405, 'method-not-allowed')).headers.get('allow'), 'POST');
  // Without a store (this harness has none), holds and sweeps say so.
  await expect('/holds', 'GET', 501, 'no-store');
  // A query string is ignored, not part of the call id.
  assert.equal((await h.call('/calls/c1?verbose=1')).status, 200);
  assert.equal(h.control.get('c1')?.capture, 'recording');
});

test('a hold needs a reason, and an until that is a date still to come; each refusal is audited', async (t) => {
  const h = await startHarness(t);
  const refused = async (body: unknown, message: RegExp): Promise<void> => {
    const r = await h.call('/holds/c1', { method: 'POST', body: JSON.stringify(body) });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(((await r.json()) as ErrorReply).error.message, message);
  };
  await refused({ by: 'records' }, /needs a "reason"/);
  await refused({ reason: '  ' }, /needs a "reason"/);
  await refused({ reason: 'C-1', until: 'next tuesday' }, /ISO 8601/);
  await refused({ reason: 'C-1', until: '2020-01-01' }, /in the future/);
  await refused({ reason: 'C-1', kept: true }, /unknown field\(s\): kept/);
  const records = await readAudit(h.auditFile);
  assert.deepEqual(records.map((r) => [r['action'], r['callId'], r['outcome']]), Array(5).fill(['hold', 'c1', 'bad-request']));
});

test('a sweep that outlasts the wait is answered 202 and runs on; one that ends within it, 200 with its report', async (t) => {
  let finish: (r: SweepReport) => void = () => undefined;
  const report: SweepReport = { startedAt: 'a', finishedAt: 'b', examined: 3, deleted: 1, objectsDeleted: 4, held: 1, unreadable: 0, failed: 0 };
  const retention: RetentionControl = {
    holds: () => Promise.resolve([]),
    place: () => Promise.reject(new Error('not in this test')),
    release: () => Promise.reject(new Error('not in this test')),
    erase: () => Promise.reject(new Error('not in this test')),
    sweep: () => new Promise((resolve) => (finish = resolve)),
  };
  const h = await startHarness(t, { retention, sweepWaitMs: 50 });
  const slow = await h.call('/retention/sweep', { method: 'POST' });
  assert.equal(slow.status, 202);
  assert.deepEqual(((await slow.json()) as { running: boolean }).running, true);
  finish(report);

  retention.sweep = () => Promise.resolve(report);
  const quick = await h.call('/retention/sweep', { method: 'POST' });
  assert.equal(quick.status, 200);
  assert.deepEqual(await quick.json(), { report });
  const records = await readAudit(h.auditFile);
  assert.deepEqual(records.map((r) => [r['action'], r['outcome'], (r['details'] as Record<string, unknown>)['running'] ?? (r['details'] as Record<string, unknown>)['deleted']]), [['retention-sweep', 'ok', true], ['retention-sweep', 'ok', 1]]);
});

test('a client\'s token takes only its role\'s routes: the desktop that pauses cannot release a hold, the records office cannot pause', async (t) => {
  const desk = 'desk-token-0123456789';
  const records = 'records-token-0123456789';
  const h = await startHarness(t, { clients: [{ name: 'agent-desktop', role: 'operator', token: desk }, { name: 'records-office', role: 'records', token: records }] });
  h.control.add('c1');

  const paused = await h.call('/calls/c1/pause', { method: 'POST', token: desk, body: '{"by":"agent7"}' });
  assert.equal(paused.status, 200);
  const release = await h.call('/holds/c1/release', { method: 'POST', token: desk });
  assert.equal(release.status, 403);
  assert.match(((await release.json()) as ErrorReply).error.message, /agent-desktop \(operator\) may not POST \/holds\/c1\/release/);
  assert.equal((await h.call('/calls/c1/resume', { method: 'POST', token: records })).status, 403);
  assert.equal((await h.call('/calls', { token: records })).status, 403);
  assert.equal((await h.call('/health', { token: records })).status, 200);
  assert.equal((await h.call('/health', { token: desk })).status, 200);
  assert.equal(h.control.get('c1')?.capture, 'paused', 'the refused resume changed nothing');

  const audit = await readAudit(h.auditFile);
  assert.deepEqual(
    audit.map((r) => [r['action'], r['by'], r['outcome'], (r['details'] as { client: string }).client]),
    [
      ['pause', 'agent7', 'ok', 'agent-desktop'],
      ['forbidden', 'agent-desktop', 'forbidden', 'agent-desktop'],
      ['forbidden', 'records-office', 'forbidden', 'records-office'],
      ['forbidden', 'records-office', 'forbidden', 'records-office'],
    ],
    'each action names the token it came with, beside whom it says it is for',
  );
});

test('an unexpected failure of the gateway is a 500 that tells nothing, is logged and audited, and the server carries on', async (t) => {
  const h = await startHarness(t);
  h.control.add('c1');
  const r = await h.call('/calls/explodes/stop', { method: 'POST' });
  assert.equal(r.status, 500);
  const reply = (await r.json()) as ErrorReply;
  assert.deepEqual(reply, { error: { code: 'internal', message: 'internal error' } });
  assert.ok(h.logLines().some((l) => l['level'] === 50 && JSON.stringify(l).includes('secret internal detail')));
  const [rec] = await readAudit(h.auditFile);
  assert.equal(rec?.['outcome'], 'internal');
  assert.equal((await h.call('/calls/c1/pause', { method: 'POST' })).status, 200);
});

test('GET /metrics answers in the Prometheus text format, given the server\'s own counters; a monitor token reads it and health, and nothing else', async (t) => {
  const monitor = 'monitor-token-0123456789';
  const seen: number[] = [];
  const h = await startHarness(t, {
    clients: [{ name: 'prometheus', role: 'monitor', token: monitor }],
    metrics: (stats) => {
      seen.push(stats.requests);
      return `# HELP recgw_control_requests_total Control API requests.\n# TYPE recgw_control_requests_total counter\nrecgw_control_requests_total ${stats.requests}\n`;
    },
  });
  h.control.add('c1');
  const metrics = await h.call('/metrics', { token: monitor });
  assert.equal(metrics.status, 200);
  assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(await metrics.text(), `# HELP recgw_control_requests_total Control API requests.\n# TYPE recgw_control_requests_total counter\nrecgw_control_requests_total ${seen[0]}\n`);
  assert.equal(seen[0], 1, 'this request counted');
  assert.equal((await h.call('/health', { token: monitor })).status, 200);
  assert.equal((await h.call('/calls', { token: monitor })).status, 403);
  assert.equal((await h.call('/calls/c1/stop', { method: 'POST', token: monitor, body: '{"by":"x"}' })).status, 403);
  assert.equal(h.control.get('c1')?.capture, 'recording', 'a monitor changes nothing');
  assert.equal((await h.call('/metrics', { token: null })).status, 401);
  assert.equal((await h.call('/metrics', { method: 'POST', token: monitor })).status, 405);

  const bare = await startHarness(t);
  const none = await bare.call('/metrics');
  assert.equal(none.status, 404);
  assert.equal(((await none.json()) as ErrorReply).error.code, 'not-found');
});
