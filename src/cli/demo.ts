/**
 * `recgw demo`: one real call end to end. The gateway starts on free local
 * ports, SIPp answers as the agent queue and SIPp calls as the trunk, both
 * sending the same speech pcap; then we print what the gateway saw and kept.
 */
import { parseConfig } from '../config/load.js';
import type { CallSummary } from '../call/summary.js';
import { startGateway } from '../main.js';
import { createLogger } from '../ops/log.js';
import { MemorySegmentWriter } from '../recording/memory-writer.js';
import { freePort } from './free-port.js';
import { Sipp, sippAvailable } from './sipp.js';

export async function runDemo(): Promise<number> {
  if (!sippAvailable()) {
    process.stderr.write('recgw demo needs SIPp, from the Debian package sip-tester: apt-get install -y sip-tester\n');
    return 1;
  }
  const [sipPort, agentPort, callerPort] = [await freePort(), await freePort(), await freePort()];
  const config = parseConfig(
    {
      sip: { port: sipPort },
      rtp: { portMin: 31000, portMax: 31999 },
      lines: [{ number: '1000', name: 'helpline', target: `sip:queue@127.0.0.1:${agentPort}`, record: true, announcement: { mode: 'early' } }],
    },
    'demo',
  );
  const log = createLogger({ level: 'info', destination: process.stderr });
  const writer = new MemorySegmentWriter();
  const running = await startGateway(config, { log, writer });
  const ended = new Promise<CallSummary>((resolve) => running.gateway.once('call-ended', resolve));

  process.stdout.write(`gateway on 127.0.0.1:${sipPort} (udp, tcp); agent queue (SIPp) on :${agentPort}; calling line 1000 from SIPp on :${callerPort}\n`);
  const agent = new Sipp({ scenario: 'agent.xml', localPort: agentPort, mediaPort: 32100, calls: 1, timeoutSec: 40 });
  const caller = new Sipp({ scenario: 'caller.xml', localPort: callerPort, mediaPort: 32200, remote: `127.0.0.1:${sipPort}`, service: '1000', pauseMs: 8000, calls: 1, timeoutSec: 40 });
  try {
    const [c, a] = await Promise.all([caller.done, agent.done]);
    const summary = await ended;
    printSummary(summary, writer, c.code === 0 && a.code === 0);
    return c.code === 0 && a.code === 0 && summary.reason === 'caller-bye' ? 0 : 1;
  } finally {
    caller.kill();
    agent.kill();
    await running.stop();
  }
}

function printSummary(s: CallSummary, writer: MemorySegmentWriter, sippOk: boolean): void {
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
  out.push('  captured audio (held in memory by the segment writer; nothing written to disk):');
  for (const seg of writer.segments.filter((g) => g.info.callId === s.callId)) {
    const bytes = seg.audio().length;
    out.push(`    ${seg.info.leg} leg, segment ${seg.info.segment}: ${seg.info.codec}, ${bytes} bytes = ${(bytes / 8000).toFixed(2)} s, started ${seg.info.startedAt.toISOString()}`);
  }
  out.push(`  SIPp trunk and agent: ${sippOk ? 'both saw a clean call' : 'FAILED (see above)'}`, '');
  process.stdout.write(out.join('\n'));
}
