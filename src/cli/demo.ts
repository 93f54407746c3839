/**
 * `recgw demo`: one real call end to end. The gateway starts on free local
 * ports, SIPp answers as the agent queue and SIPp calls as the trunk, both
 * sending the same speech pcap; then we print what the gateway saw and kept.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportCall, objectsOfCall } from '../access/export.js';
import { loadConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/types.js';
import { loadDecryptionKey } from '../crypto/keys.js';
import { openStore } from '../recording/pipeline.js';
import type { CallSummary } from '../call/summary.js';
import { startGateway } from '../main.js';
import { createLogger, silentLogger } from '../ops/log.js';
import { freePort } from './free-port.js';
import { Sipp, sippAvailable } from './sipp.js';

export async function runDemo(): Promise<number> {
  if (!sippAvailable()) {
    process.stderr.write('recgw demo needs SIPp, from the Debian package sip-tester: apt-get install -y sip-tester\n');
    return 1;
  }
  const [sipPort, agentPort, callerPort] = [await freePort(), await freePort(), await freePort()];
  // Everything the demo keeps is under ./var/demo: the store, the spool, and a demo key pair.
  const base = resolve('var', 'demo');
  const configFile = join(base, 'config.yaml');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  writeFileSync(
    configFile,
    [
      `storage: { kind: fs, dir: ${JSON.stringify(join(base, 'recordings'))} }`,
      `spool: { dir: ${JSON.stringify(join(base, 'spool'))} }`,
      `encryption: { keyDir: ${JSON.stringify(join(base, 'keys'))} }`,
      `audit: { file: ${JSON.stringify(join(base, 'audit.log'))} }`,
      // The demo runs beside a gateway that may already hold the API's usual port.
      `control: { port: 0, tokenFile: ${JSON.stringify(join(base, 'control-token'))} }`,
      '',
    ].join('\n'),
  );
  const config = loadConfig({
    file: configFile,
    overrides: {
      sip: { port: sipPort },
      rtp: { portMin: 31000, portMax: 31999 },
      lines: [{ number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { mode: 'early' } }],
    },
  });
  const log = createLogger({ level: 'info', destination: process.stderr });
  const running = await startGateway(config, { log });
  const ended = new Promise<CallSummary>((resolve) => running.gateway.once('call-ended', resolve));

  process.stdout.write(`gateway on 127.0.0.1:${sipPort} (udp, tcp); agent queue (SIPp) on :${agentPort}; calling line 1000 from SIPp on :${callerPort}\n`);
  const agent = new Sipp({ scenario: 'agent.xml', localPort: agentPort, mediaPort: 32100, calls: 1, timeoutSec: 40 });
  const caller = new Sipp({ scenario: 'caller.xml', localPort: callerPort, mediaPort: 32200, remote: `127.0.0.1:${sipPort}`, service: '1000', pauseMs: 8000, calls: 1, timeoutSec: 40 });
  try {
    const [c, a] = await Promise.all([caller.done, agent.done]);
    const summary = await ended;
    await running.pipeline?.uploader.drain(15_000);
    printSummary(summary, c.code === 0 && a.code === 0);
    for (const [name, r] of [['caller', c], ['agent queue', a]] as const) {
      if (r.code !== 0) process.stdout.write(`SIPp as the ${name} exited ${String(r.code)}: ${r.errors.trim() || r.screen.slice(-1500)}\n`);
    }
    await printRecordings(summary.callId, config, base, configFile);
    return c.code === 0 && a.code === 0 && summary.reason === 'caller-bye' ? 0 : 1;
  } finally {
    caller.kill();
    agent.kill();
    await running.stop();
  }
}

function printSummary(s: CallSummary, sippOk: boolean): void {
  const out: string[] = [
    '',
    `call ${s.callId} (SIP Call-ID ${s.sipCallId})`,
    `  line ${s.line}: ${s.from} -> ${s.to}, operator ${s.operator ?? 'unknown'}, ended by ${s.reason} after ${(s.durationMs / 1000).toFixed(1)} s`,
  ];
  for (const name of ['caller', 'agent'] as const) {
    const leg = s.legs[name];
    if (!leg) continue;
    out.push(
      `  ${name} leg: gateway port ${leg.port}; received ${leg.received}, accepted ${leg.accepted}, relayed to the other side ${leg.relayed}, ` +
        `dropped (wrong source) ${leg.droppedSource}, malformed ${leg.malformed}; sent to this side ${leg.sent}`,
    );
  }
  for (const name of ['caller', 'agent'] as const) {
    const c = s.legs[name]?.capture;
    if (c) out.push(`  ${name} capture: ${(c.samplesWritten / 8000).toFixed(2)} s written (${(c.silenceSamples / 8000).toFixed(2)} s of it silence where no packet arrived)`);
  }
  out.push(`  SIPp trunk and agent: ${sippOk ? 'both saw a clean call' : 'FAILED (see above)'}`, '');
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Where the call's encrypted objects are, and the same call exported back to audio with the demo's private key. */
async function printRecordings(callId: string, config: GatewayConfig, base: string, configFile: string): Promise<void> {
  const store = await openStore(config.storage, silentLogger());
  const out: string[] = [`  encrypted recordings in ${store.location}:`];
  for (const o of await objectsOfCall(store, callId)) {
    const sha256 = (await store.head(o.key))?.sha256 ?? '?';
    out.push(`    ${o.key} (${o.size} bytes, sha256 ${sha256.slice(0, 16)}...)`);
  }
  const keyDir = join(base, 'keys');
  const privateKey = readdirSync(keyDir).filter((f) => f.endsWith('.private.pem')).sort().at(-1);
  if (privateKey !== undefined) {
    const exportDir = join(base, 'export');
    const r = await exportCall(store, callId, loadDecryptionKey(join(keyDir, privateKey)), exportDir);
    out.push(`  exported with the demo's private key (keep such a key off a real gateway) to ${exportDir}:`);
    for (const l of r.legs) out.push(`    ${l.file} (${l.seconds.toFixed(2)} s, ${l.chunks} chunks verified)`);
    if (r.mix) out.push(`    ${r.mix} (stereo: caller left, agent right)`);
    out.push(`  again by hand: npx recgw export --call ${callId} --config ${configFile} --private-key ${join(keyDir, privateKey)} --out ${exportDir}`);
  }
  process.stdout.write(`${out.join('\n')}\n\n`);
}
