/** Shared pieces of the SIP tests: engines on loopback with short timers, SDP, polling. */
import dgram from 'node:dgram';
import { EmbeddedSipEngine, type EmbeddedEngineOptions } from '../../src/sip/embedded/engine.js';
import type { Transport } from '../../src/sip/engine.js';

/** Short enough that 64*T1 is 1.28 s. */
export const FAST_TIMERS = { t1: 20, t2: 160, t4: 200 };

export function sdp(port: number, direction = 'sendrecv'): string {
  return [
    'v=0',
    `o=- ${port} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');
}

export async function startEngine(extra: Partial<EmbeddedEngineOptions> = {}): Promise<EmbeddedSipEngine> {
  const engine = new EmbeddedSipEngine({
    listen: '127.0.0.1',
    port: 0,
    transports: ['udp', 'tcp'],
    publicAddress: '127.0.0.1',
    timers: FAST_TIMERS,
    ...extra,
  });
  await engine.listen();
  return engine;
}

export function uriOf(engine: EmbeddedSipEngine, user: string, transport: Transport): string {
  return `sip:${user}@127.0.0.1:${engine.local.port}${transport === 'tcp' ? ';transport=tcp' : ''}`;
}

/** Polls `check` until it holds; fails with `what` after `ms`. Not a timing assertion: a bound on waiting. */
export async function waitFor(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw UDP peer that records every datagram it receives. */
export class RawUdpPeer {
  readonly received: string[] = [];
  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (m) => this.received.push(m.toString('utf8')));
  }

  static async open(): Promise<RawUdpPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new RawUdpPeer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string | Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(typeof text === 'string' ? Buffer.from(text) : text, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  matching(re: RegExp): string[] {
    return this.received.filter((m) => re.test(m));
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** A request as a peer would write it; `over` tweaks headers. */
export function rawRequest(opts: {
  method: string;
  port: number;
  transport?: 'UDP' | 'TCP';
  branch?: string;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  cseq?: number;
  body?: string;
  extra?: string[];
}): string {
  const body = opts.body ?? '';
  const lines = [
    `${opts.method} sip:1000@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/${opts.transport ?? 'UDP'} 127.0.0.1:${opts.port};branch=${opts.branch ?? 'z9hG4bK-raw-1'};rport`,
    'Max-Forwards: 70',
    `From: <sip:caller@127.0.0.1>;tag=${opts.fromTag ?? 'from1'}`,
    `To: <sip:1000@127.0.0.1>${opts.toTag !== undefined ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: ${opts.callId ?? 'raw-call-1'}`,
    `CSeq: ${opts.cseq ?? 1} ${opts.method}`,
    `Contact: <sip:caller@127.0.0.1:${opts.port}>`,
    ...(opts.extra ?? []),
  ];
  if (body.length > 0) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** First value of a header in raw SIP text (long names only). */
export function headerOf(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

/** A response to `request` (raw text), as a peer would write it. */
export function rawResponse(request: string, status: number, reason: string, opts: { toTag?: string; contactPort?: number; body?: string } = {}): string {
  const keep = ['Via', 'From', 'Call-ID', 'CSeq'];
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const line of request.split('\r\n')) {
    if (keep.some((h) => line.toLowerCase().startsWith(`${h.toLowerCase()}:`))) lines.push(line);
  }
  const to = headerOf(request, 'To') ?? '';
  lines.push(`To: ${to}${opts.toTag !== undefined && !to.includes('tag=') ? `;tag=${opts.toTag}` : ''}`);
  if (opts.contactPort !== undefined) lines.push(`Contact: <sip:peer@127.0.0.1:${opts.contactPort}>`);
  const body = opts.body ?? '';
  if (body.length > 0) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export function branchOf(text: string): string | undefined {
  return /branch=([^;\s,]+)/.exec(headerOf(text, 'Via') ?? '')?.[1];
}
