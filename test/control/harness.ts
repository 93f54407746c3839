/**
 * A small in-memory `CaptureControl` with the gateway's rules (pause only
 * while recording, resume only while paused, nothing after stop, nothing on an
 * unrecorded call), and a control server on 127.0.0.1 port 0 around it, with
 * a real audit log in a temporary directory.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AuditLog } from '../../src/access/audit.js';
import { ControlError } from '../../src/control/errors.js';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../../src/control/server.js';
import type { ActiveCallView, CaptureControl, CaptureState } from '../../src/control/types.js';
import { captureLog } from '../helpers/log.js';

export const TOKEN = 'test-token-0123456789abcdef';

export class FakeControl implements CaptureControl {
  readonly calls = new Map<string, ActiveCallView>();
  /** What `optOut` reports as deleted. */
  discardOnOptOut = 2;

  add(callId: string, capture: CaptureState = 'recording'): ActiveCallView {
    const call: ActiveCallView = {
      callId,
      line: 'sales',
      direction: 'inbound',
      callerNumber: '+441632960001',
      calledNumber: '+441632960100',
      operator: 'agent-7',
      startedAt: new Date().toISOString(),
      capture,
      pausedWindows: [],
    };
    this.calls.set(callId, call);
    return call;
  }

  list(): ActiveCallView[] {
    return [...this.calls.values()].map((c) => structuredClone(c));
  }

  get(callId: string): ActiveCallView | undefined {
    const c = this.calls.get(callId);
    return c && structuredClone(c);
  }

  private capturing(callId: string): ActiveCallView {
    if (callId === 'explodes') throw new Error('secret internal detail');
    const c = this.calls.get(callId);
    if (!c) throw new ControlError('call-not-found', `no active call ${callId}`);
    if (c.capture === 'unrecorded') throw new ControlError('not-recorded', 'call is not recorded');
    if (c.capture === 'stopped') throw new ControlError('stopped', 'capture already stopped');
    return c;
  }

  pause(callId: string, by: string): ActiveCallView {
    const c = this.capturing(callId);
    if (c.capture === 'paused') throw new ControlError('already-paused', 'capture already paused');
    c.capture = 'paused';
    c.pausedWindows.push({ start: new Date().toISOString(), trigger: 'api', by });
    return structuredClone(c);
  }

  resume(callId: string, _by: string): ActiveCallView {
    const c = this.capturing(callId);
    const open = c.pausedWindows.at(-1);
    if (c.capture !== 'paused' || !open) throw new ControlError('not-paused', 'capture is not paused');
    c.capture = 'recording';
    open.end = new Date().toISOString();
    return structuredClone(c);
  }

  stop(callId: string, _by: string): Promise<ActiveCallView> {
    const c = this.capturing(callId);
    c.capture = 'stopped';
    return Promise.resolve(structuredClone(c));
  }

  async optOut(callId: string, by: string): Promise<{ call: ActiveCallView; discarded: number }> {
    const call = await this.stop(callId, by);
    return { call, discarded: this.discardOnOptOut };
  }
}

export interface Harness {
  readonly server: ControlServer;
  readonly control: FakeControl;
  readonly audit: AuditLog;
  readonly auditFile: string;
  readonly base: string;
  /** Every line the server logged, parsed. */
  readonly logLines: () => Record<string, unknown>[];
  /** fetch() against the server with the right token unless `token` says otherwise (null: no header). */
  call(path: string, init?: { method?: string; body?: string; token?: string | null; authorization?: string }): Promise<Response>;
}

export async function startHarness(t: TestContext, opts: Partial<ControlServerOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'recgw-control-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const auditFile = join(dir, 'audit', 'audit.jsonl');
  const audit = await AuditLog.open(auditFile);
  t.after(() => audit.close());

  const logged = captureLog({ level: 'debug' });
  const control = new FakeControl();
  const server = await startControlServer({
    listen: '127.0.0.1',
    port: 0,
    token: TOKEN,
    control,
    audit,
    log: logged.logger,
    ...opts,
  });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;

  return {
    server,
    control,
    audit,
    auditFile,
    base,
    logLines: logged.entries,
    call(path, init = {}) {
      const headers: Record<string, string> = {};
      const token = init.token === undefined ? TOKEN : init.token;
      if (init.authorization !== undefined) headers['authorization'] = init.authorization;
      else if (token !== null) headers['authorization'] = `Bearer ${token}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      return fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined && { body: init.body }) });
    },
  };
}

export interface ErrorReply {
  error: { code: string; message: string };
}

export async function readAudit(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
