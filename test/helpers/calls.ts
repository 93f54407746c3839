/**
 * What a call test needs around SIPp: media ports, the pcap's payload, the
 * messages SIPp saw, and the audio the gateway captured.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Call } from '../../src/call/call.js';
import { freePort, udpFree } from '../../src/cli/free-port.js';
import { SIPP_PCAP_DIR, Sipp, type SippOptions, type SippResult } from '../../src/cli/sipp.js';
import type { RunningGateway } from '../../src/main.js';
import type { CallSummary } from '../../src/call/summary.js';
import type { Gateway } from '../../src/call/gateway.js';
import type { MemorySegmentWriter } from '../../src/recording/memory-writer.js';
import { readPcapUdpPayloads } from '../media/pcap.js';

const FIRST_MEDIA_PORT = 30100;
const LAST_MEDIA_PORT = 31996;
let nextMediaPort = FIRST_MEDIA_PORT + 4 * Math.floor(Math.random() * ((LAST_MEDIA_PORT - FIRST_MEDIA_PORT) / 4 + 1));

/**
 * Even ports for SIPp's media, four apart (SIPp binds the port and the next
 * ones): outside every gateway RTP range and the free ports' range, below the
 * kernel's ephemeral range so that no socket bound to port 0 can take one
 * before SIPp binds it, and clear of the demo's 32100 and 32200. Test files
 * run two at a time, each from its own random place in the range: a slot whose
 * ports another process holds is skipped.
 */
export async function sippMediaPort(): Promise<number> {
  for (let tried = 0; tried <= (LAST_MEDIA_PORT - FIRST_MEDIA_PORT) / 4; tried++) {
    const p = nextMediaPort;
    nextMediaPort = nextMediaPort >= LAST_MEDIA_PORT ? FIRST_MEDIA_PORT : nextMediaPort + 4;
    let free = true;
    // SIPp's media listens on the address it is given; none of the four may be taken on any.
    for (let port = p; free && port < p + 4; port++) free = await udpFree(port, '0.0.0.0');
    if (free) return p;
  }
  throw new Error(`no SIPp media ports free in ${String(FIRST_MEDIA_PORT)}-${String(LAST_MEDIA_PORT + 3)}`);
}

export const G711A_PCAP = `${SIPP_PCAP_DIR}/g711a.pcap`;

/** The RTP payloads of a pcap, in order, and their concatenation. */
export function pcapAudio(file = G711A_PCAP): { packets: Buffer[]; audio: Buffer } {
  const packets = readPcapUdpPayloads(file).map((udp) => {
    const csrc = (udp[0] ?? 0) & 0x0f;
    return udp.subarray(12 + 4 * csrc);
  });
  return { packets, audio: Buffer.concat(packets) };
}

/**
 * Fails with why SIPp failed first (its error log), then what the gateway
 * logged (`gatewayLog`), then SIPp's screen: a CI report may show only the
 * start of the message.
 */
export function assertSippOk(name: string, r: SippResult, gatewayLog?: () => string): void {
  if (r.code === 0) return;
  const parts = [
    `SIPp ${name} exited ${String(r.code)}${r.signal ? ` (${r.signal})` : ''}`,
    `its error log: ${r.errors.trim().slice(-1500) || '(empty)'}`,
    ...(gatewayLog ? [`the gateway's last log lines:\n${gatewayLog()}`] : []),
    `its screen:\n${r.screen.slice(-2000)}`,
  ];
  assert.fail(parts.join('\n'));
}

/**
 * SIP messages from a SIPp message trace (blocks of a dashed time line, a
 * "UDP message received [n] bytes :" or "... sent (n bytes):" line, then the
 * message) whose first line matches `startLine`; only those SIPp received by default.
 */
export function tracedMessages(trace: string, startLine: RegExp, direction: 'received' | 'sent' = 'received'): string[] {
  return trace
    .split(/^-{5,}.*$/m)
    .map((block) => block.replace(/^\s+/, ''))
    .filter((block) => new RegExp(`^\\S+ message ${direction}`).test(block))
    .map((block) => block.replace(/^.*\r?\n/, '').replace(/^\s+/, ''))
    .filter((message) => startLine.test(message.split(/\r?\n/)[0] ?? ''));
}

export function bodyOf(message: string): string {
  const i = message.search(/\r?\n\r?\n/);
  return i < 0 ? '' : message.slice(i).replace(/^\s+/, '');
}

export function nextCallEnded(gateway: Gateway): Promise<CallSummary> {
  return new Promise((resolve) => gateway.once('call-ended', resolve));
}

export function capturedAudio(writer: MemorySegmentWriter, callId: string, leg: 'caller' | 'agent'): Buffer {
  const segs = writer.segments.filter((s) => s.info.callId === callId && s.info.leg === leg);
  assert.equal(segs.length, 1, `one ${leg} segment`);
  const seg = segs[0];
  assert.ok(seg?.closed, `${leg} segment closed`);
  return seg.audio();
}

/** Asserts that `audio` is silence, then exactly `payload` `times` times (silence between), then silence. */
export function assertHoldsExactly(audio: Buffer, payload: Buffer, silence: number, times = 1): void {
  let from = 0;
  let rest = Buffer.alloc(0);
  for (let n = 0; n < times; n++) {
    const at = audio.indexOf(payload, from);
    assert.ok(at >= 0, `payload occurrence ${n + 1} of ${times} found byte for byte in the capture (${audio.length} bytes)`);
    rest = Buffer.concat([rest, audio.subarray(from, at)]);
    from = at + payload.length;
  }
  rest = Buffer.concat([rest, audio.subarray(from)]);
  const noise = rest.findIndex((b) => b !== silence);
  assert.equal(noise, -1, 'everything else in the capture is silence');
}

export interface CallRun {
  readonly caller: SippResult;
  readonly agent: SippResult;
  readonly summary: CallSummary;
}

export interface StartedCall {
  /** The gateway's Call, as soon as the INVITE arrived. */
  readonly call: Promise<Call>;
  /** Both SIPp ends finished cleanly (asserted) and the gateway logged the call's end. */
  readonly finished: Promise<CallRun>;
}

type PeerOptions = Partial<SippOptions> & { readonly scenario: string };

/**
 * One call through a test gateway: SIPp as the agent queue on the line's port
 * and SIPp as the trunk dialling 1000, both killed when the test ends.
 */
export async function startCall(
  t: TestContext,
  gw: { readonly running: RunningGateway; readonly sipPort: number; readonly agentPort: number; readonly logTail?: () => string },
  opts: { readonly agent: PeerOptions; readonly caller: PeerOptions; readonly transport?: 'udp' | 'tcp' },
): Promise<StartedCall> {
  const gateway = gw.running.gateway;
  const call = new Promise<Call>((resolve) => gateway.once('call-started', resolve));
  const ended = nextCallEnded(gateway);
  const transport = opts.transport ?? 'udp';
  const agent = new Sipp({ transport, localPort: gw.agentPort, mediaPort: await sippMediaPort(), ...opts.agent });
  const caller = new Sipp({ transport, localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', ...opts.caller });
  t.after(() => (caller.kill(), agent.kill()));
  const finished = (async (): Promise<CallRun> => {
    // A peer that fails ends the other at once rather than after its timeout, and is reported first.
    const endOnFailure =
      (other: Sipp) =>
      (r: SippResult): SippResult => {
        if (r.code !== 0) other.kill();
        return r;
      };
    const [c, a] = await Promise.all([caller.done.then(endOnFailure(agent)), agent.done.then(endOnFailure(caller))]);
    const agentFirst = a.code !== 0 && a.signal === null;
    for (const [name, r] of agentFirst ? ([['agent', a], ['caller', c]] as const) : ([['caller', c], ['agent', a]] as const)) assertSippOk(name, r, gw.logTail);
    return { caller: c, agent: a, summary: await ended };
  })();
  return { call, finished };
}

/** A SIPp caller to line 1000 is refused with 503: a line whose onRecordingFailure is reject, or a gateway draining. */
export async function assertRefused(t: TestContext, gw: { readonly sipPort: number; readonly logTail?: () => string }): Promise<string> {
  const caller = new Sipp({ scenario: 'caller-refused.xml', localPort: await freePort(), mediaPort: await sippMediaPort(), remote: `127.0.0.1:${gw.sipPort}`, service: '1000', traceMessages: true });
  t.after(() => caller.kill());
  const c = await caller.done;
  assertSippOk('caller', c, gw.logTail);
  const refusals = tracedMessages(c.messages, /^SIP\/2\.0 503/);
  assert.equal(refusals.length > 0, true, 'refused with 503');
  return refusals[0] ?? '';
}
