/**
 * Starts a real gateway for a test: free SIP ports, its own RTP range, short
 * SIP timers, a short generated announcement, captures held in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { freePort } from '../../src/cli/free-port.js';
import { startGateway, type RunningGateway } from '../../src/main.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { LogHub } from '../../src/ops/log-hub.js';
import { MemorySegmentWriter } from '../../src/recording/memory-writer.js';
import { captureLog } from './log.js';
import { writeToneWav } from './wav.js';

export interface TestGateway {
  readonly running: RunningGateway;
  /** Captured audio in memory, unless the gateway runs the real recording pipeline. */
  readonly writer: MemorySegmentWriter;
  /** With `pipeline`: where the fs store and the spool are, and the key that reads what was stored. */
  readonly storeDir: string;
  readonly spoolDir: string;
  readonly privateKeyFile: string;
  readonly config: GatewayConfig;
  readonly sipPort: number;
  readonly agentPort: number;
  readonly announcementFile: string;
  readonly auditFile: string;
  /** The gateway's last 60 log lines (info and above), one JSON object per line. */
  readonly logTail: () => string;
  stop(): Promise<void>;
}

let nextRange = 40000 + 200 * Math.floor(Math.random() * 40);

/** Each gateway of a run gets its own 200-port RTP range so tests never collide on media ports. */
function rtpRange(): { portMin: number; portMax: number } {
  const portMin = nextRange;
  nextRange = nextRange >= 55800 ? 40000 : nextRange + 200;
  return { portMin, portMax: portMin + 199 };
}

export interface TestGatewayOptions {
  lines?: (agentPort: number, announcement: string, secondMessage: string) => unknown[];
  trunks?: unknown[];
  announcementMs?: number;
  mode?: 'early' | 'answer';
  /** Run the real pipeline (encrypt, spool, upload) into an fs store, or the given storage config. */
  pipeline?: boolean;
  storage?: unknown;
  spoolMaxBytes?: number;
  /** Where the spool lives (a small disk of its own, say); under the gateway's temp dir when absent. */
  spoolDir?: string;
  /** spool.minFreeBytes; 0 when absent, so that no test depends on how full this machine's disk is. */
  spoolMinFreeBytes?: number;
  segmentSeconds?: number;
  /** recording.lookbackMs; the gateway's default (1 s) when absent. */
  lookbackMs?: number;
  pbxs?: unknown[];
  /** The wall clock for schedules. */
  now?: () => Date;
  /** sip.ringTimeoutSec; the gateway's default when absent. */
  ringTimeoutSec?: number;
  /** The retention section; the gateway's default (nightly sweeps) when absent. */
  retention?: unknown;
  /** control.clients: tokens of one role each beside the main one. */
  controlClients?: unknown[];
}

/** The control API's token in every test gateway (the API listens on a free loopback port). */
export const TEST_CONTROL_TOKEN = 'test-control-token-0123456789';

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-test-'));
  const storeDir = join(dir, 'store');
  const spoolDir = opts.spoolDir ?? join(dir, 'spool');
  const keys = generateKeyPair(join(dir, 'keys'));
  const announcementFile = join(dir, 'announcement.wav');
  writeToneWav(announcementFile, { ms: opts.announcementMs ?? 400 });
  const secondMessageFile = join(dir, 'second-message.wav');
  writeToneWav(secondMessageFile, { ms: 2000, hz: 660 });
  const sipPort = await freePort();
  const agentPort = await freePort();
  const lines = opts.lines?.(agentPort, announcementFile, secondMessageFile) ?? [
    { number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { file: announcementFile, mode: opts.mode ?? 'early' } },
  ];
  const config = parseConfig(
    {
      sip: { listen: '127.0.0.1', port: sipPort, transports: ['udp', 'tcp'], publicAddress: '127.0.0.1', timers: { t1: 100, t2: 400, t4: 500 }, ...(opts.ringTimeoutSec !== undefined ? { ringTimeoutSec: opts.ringTimeoutSec } : {}) },
      rtp: { address: '127.0.0.1', ...rtpRange() },
      trunks: opts.trunks ?? [{ name: 'pstn', addresses: ['127.0.0.1'] }],
      lines,
      recording: { jitterMs: 200, segmentSeconds: opts.segmentSeconds ?? 300, ...(opts.lookbackMs !== undefined ? { lookbackMs: opts.lookbackMs } : {}) },
      ...(opts.pbxs ? { pbxs: opts.pbxs } : {}),
      control: { listen: '127.0.0.1', port: 0, token: TEST_CONTROL_TOKEN, ...(opts.controlClients ? { clients: opts.controlClients } : {}) },
      audit: { file: join(dir, 'audit.log') },
      storage: opts.storage ?? { kind: 'fs', dir: storeDir },
      spool: { dir: spoolDir, maxBytes: opts.spoolMaxBytes ?? 64 << 20, minFreeBytes: opts.spoolMinFreeBytes ?? 0 },
      encryption: { publicKey: keys.publicKeyFile },
      ...(opts.retention !== undefined ? { retention: opts.retention } : {}),
    },
    'test',
  );
  // The last lines are kept for tests that read the log and for the message of
  // a call test that fails; RECGW_TEST_LOG=debug also shows every line as the tests run.
  const shown = process.env['RECGW_TEST_LOG'];
  const logHub = new LogHub();
  const captured = captureLog({ keep: 60, hub: logHub, ...(shown ? { level: shown, echo: process.stderr } : {}) });
  const log = captured.logger;
  const writer = new MemorySegmentWriter();
  const running = await startGateway(config, { log, logHub, ...(opts.pipeline ? {} : { writer }), ...(opts.now ? { now: opts.now } : {}) });
  return {
    running,
    writer,
    config,
    sipPort,
    agentPort,
    announcementFile,
    auditFile: join(dir, 'audit.log'),
    storeDir,
    spoolDir,
    privateKeyFile: keys.privateKeyFile,
    logTail: () => captured.lines().join('\n'),
    stop: async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ApiReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** One request to a test gateway's control API; the right token unless `token` says otherwise (null: none). */
export async function controlApi(gw: TestGateway, method: 'GET' | 'POST', path: string, opts: { body?: unknown; token?: string | null } = {}): Promise<ApiReply> {
  const port = gw.running.control?.port;
  if (!port) throw new Error('the control API does not listen');
  const token = opts.token === undefined ? TEST_CONTROL_TOKEN : opts.token;
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
