/**
 * Incoming messages: drachtio-srf's SipMessage does the parsing, this module
 * checks what RFC 3261 §8.1.1 makes mandatory and exposes the few parsed fields
 * transactions and dialogs match on.
 */
import SipMessage from 'drachtio-srf/lib/sip-parser/message.js';
import type { SipMessageView } from '../engine.js';
import { canonicalName, splitList } from './build.js';
import type { Frame } from './framing.js';

export interface TopVia {
  readonly protocol: string;
  /** host[:port] as written: half of the transaction key (RFC 3261 §17.2.3). */
  readonly sentBy: string;
  readonly branch: string;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** The raw header values a response is formed from; enough to answer even a broken request. */
export interface ReplyBasis {
  readonly via: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  readonly cseq: string;
  readonly method: string;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

export function tagOf(nameAddr: string): string | undefined {
  // Only parameters after the closing '>' (or in addr-spec form) belong to the header.
  const gt = nameAddr.lastIndexOf('>');
  const params = gt >= 0 ? nameAddr.slice(gt + 1) : nameAddr;
  const m = /;\s*tag\s*=\s*([^;\s,]+)/i.exec(params);
  return m?.[1];
}

/** The URI inside a name-addr (`"A" <sip:a@b>;tag=1`) or an addr-spec (`sip:a@b;tag=1`). */
export function uriOf(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  if (lt >= 0) {
    const gt = nameAddr.indexOf('>', lt);
    return nameAddr.slice(lt + 1, gt < 0 ? undefined : gt).trim();
  }
  return (nameAddr.trim().split(';')[0] ?? '').trim();
}

export function parseCSeq(value: string): CSeq | undefined {
  const m = /^\s*(\d{1,10})\s+(\S+)\s*$/.exec(value);
  if (!m || !TOKEN.test(m[2] ?? '')) return undefined;
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) return undefined;
  return { seq, method: m[2] ?? '' };
}

export function parseTopVia(value: string): TopVia | undefined {
  const first = splitList(value)[0];
  if (first === undefined) return undefined;
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+([^\s;]+)(.*)$/i.exec(first);
  if (!m) return undefined;
  const branch = /;\s*branch\s*=\s*([^;\s]+)/i.exec(m[3] ?? '')?.[1];
  if (branch === undefined) return undefined;
  return { protocol: (m[1] ?? '').toUpperCase(), sentBy: (m[2] ?? '').toLowerCase(), branch };
}

/** Header lines read without the parser, for answering 400 to what it rejects. */
function lenientHeaders(head: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = head.split(/\r?\n(?![ \t])/);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = canonicalName(line.slice(0, colon));
    const value = line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** What a 400 would be built from, or undefined when no response can be formed (responses, ACK, missing headers). */
export function replyBasis(head: string): ReplyBasis | undefined {
  const startLine = head.split(/\r?\n/, 1)[0] ?? '';
  if (/^SIP\//i.test(startLine)) return undefined;
  const h = lenientHeaders(head);
  const one = (n: string): string | undefined => {
    const v = h.get(n);
    return v && v.length === 1 && v[0] !== undefined && v[0].length > 0 ? v[0] : undefined;
  };
  const via = h.get('via');
  const from = one('from');
  const to = one('to');
  const callId = one('call-id');
  const cseqText = one('cseq');
  const cseq = cseqText === undefined ? undefined : parseCSeq(cseqText);
  if (!via || via.length === 0 || !from || !to || !callId || !cseq || cseqText === undefined) return undefined;
  if (parseTopVia(via.join(',')) === undefined) return undefined;
  if (cseq.method === 'ACK') return undefined;
  return { via, from, to, callId, cseq: cseqText, method: cseq.method };
}

/** A validated incoming message. */
export class ParsedMessage implements SipMessageView {
  readonly type: 'request' | 'response';
  readonly method?: string;
  readonly uri?: string;
  readonly status?: number;
  readonly reason?: string;
  readonly body: string;
  readonly callId: string;
  readonly via: TopVia;
  readonly from: string;
  readonly to: string;
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  readonly cseq: CSeq;

  constructor(
    private readonly msg: SipMessage,
    private readonly raw: string,
    fields: { via: TopVia; cseq: CSeq; from: string; to: string; callId: string; body: string },
  ) {
    this.type = msg.method !== undefined ? 'request' : 'response';
    if (msg.method !== undefined) this.method = msg.method;
    if (msg.uri !== undefined) this.uri = msg.uri;
    if (msg.status !== undefined) this.status = msg.status;
    if (msg.reason !== undefined) this.reason = msg.reason.trim();
    this.body = fields.body;
    this.callId = fields.callId;
    this.via = fields.via;
    this.cseq = fields.cseq;
    this.from = fields.from;
    this.to = fields.to;
    this.fromTag = tagOf(fields.from);
    this.toTag = tagOf(fields.to);
  }

  get calledNumber(): string {
    try {
      return this.msg.uri === undefined ? '' : this.msg.calledNumber;
    } catch {
      return '';
    }
  }

  get callingNumber(): string {
    try {
      return this.msg.callingNumber;
    } catch {
      return '';
    }
  }

  get(name: string): string | undefined {
    return this.msg.get(name);
  }

  has(name: string): boolean {
    return this.msg.has(name);
  }

  toString(): string {
    return this.raw;
  }
}

export type ReadResult =
  | { readonly ok: true; readonly msg: ParsedMessage }
  | { readonly ok: false; readonly reason: string; readonly basis: ReplyBasis | undefined };

function reject(reason: string, head: string): ReadResult {
  return { ok: false, reason, basis: replyBasis(head) };
}

/** Parses and checks one framed message. Never throws. */
export function readMessage(frame: Frame): ReadResult {
  const { head } = frame;
  if (frame.problem !== undefined) return reject(frame.problem, head);
  const body = frame.body.toString('utf8');
  const raw = `${head}\r\n\r\n${body}`;
  let msg: SipMessage;
  try {
    msg = new SipMessage(raw);
  } catch {
    return reject('Unparsable Message', head);
  }
  const eol = head.indexOf('\r\n');
  const startLine = eol < 0 ? head : head.slice(0, eol);
  if (msg.method !== undefined) {
    if (!TOKEN.test(msg.method) || !/^(sips?|tel):\S+$/i.test(msg.uri ?? '') || msg.version !== '2.0' || !/ SIP\/2\.0$/.test(startLine)) {
      return reject('Bad Request Line', head);
    }
  } else if (msg.status === undefined || msg.status < 100 || msg.status > 699 || msg.version !== '2.0') {
    return reject('Bad Status Line', head);
  }
  const viaText = msg.get('via');
  const from = msg.get('from');
  const to = msg.get('to');
  const callId = msg.get('call-id')?.trim();
  const cseqText = msg.get('cseq');
  if (viaText === undefined || from === undefined || to === undefined || callId === undefined || cseqText === undefined || callId === '') {
    return reject('Missing Mandatory Header', head);
  }
  // Repeated single-value headers arrive joined by ','; a second CSeq or Call-ID is an error.
  const cseq = parseCSeq(cseqText);
  if (!cseq) return reject('Bad CSeq', head);
  if (/[\s,]/.test(callId)) return reject('Bad Call-ID', head);
  const via = parseTopVia(viaText);
  if (!via) return reject('Bad Via', head);
  if (splitList(from).length !== 1 || splitList(to).length !== 1 || !/^(sips?|tel):/i.test(uriOf(from)) || !/^(sips?|tel):/i.test(uriOf(to))) {
    return reject('Bad From or To', head);
  }
  if (msg.method !== undefined && msg.method !== cseq.method) return reject('CSeq Method Mismatch', head);
  return { ok: true, msg: new ParsedMessage(msg, raw, { via, cseq, from, to, callId, body }) };
}
