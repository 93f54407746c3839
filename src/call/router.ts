/**
 * Decides what a new INVITE is. From a trunk: refused when it dials no line,
 * else a call to the line (an exact number first, then the longest prefix)
 * with whether it is recorded now. From a PBX: an outbound call through the
 * PBX's trunk, recorded per the line of the calling extension or number.
 * From anyone else: refused, before anything about lines is revealed.
 */
import { isIP } from 'node:net';
import type { GatewayConfig, LineConfig, PbxConfig, TrunkConfig } from '../config/types.js';
import { scheduledAt } from './schedule.js';

const FORBIDDEN = { kind: 'reject', status: 403, reason: 'Forbidden' } as const;
const NOT_FOUND = { kind: 'reject', status: 404, reason: 'Not Found' } as const;
/** What a dialled number may hold; anything else must not be spliced into a request URI. */
const DIALLED = /^[0-9+*#]+$/;

export type RouteDecision =
  | { readonly kind: 'reject'; readonly status: 403 | 404; readonly reason: string }
  | { readonly kind: 'line'; readonly line: LineConfig; readonly trunk: TrunkConfig; readonly record: boolean };

export type OutboundDecision =
  | { readonly kind: 'reject'; readonly status: 403 | 404; readonly reason: string }
  | {
      readonly kind: 'outbound';
      readonly pbx: PbxConfig;
      readonly trunk: TrunkConfig;
      /** The request URI for the trunk: `sip:<called>@<trunk target host:port;params>`. */
      readonly target: string;
      /** The line the call is recorded under; absent when the caller belongs to none. */
      readonly line?: LineConfig;
      readonly record: boolean;
    };

/** IPv4-mapped IPv6 sources (::ffff:a.b.c.d) compare as their IPv4 address. */
function normalise(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}

/** Whether the line records a call placed at `at`. */
function recordsAt(line: LineConfig, at: Date): boolean {
  if (line.recordMode === 'schedule') return scheduledAt(line.schedule, at);
  return line.recordMode === 'always';
}

export class Router {
  private readonly trunkByAddress = new Map<string, TrunkConfig>();
  private readonly pbxByAddress = new Map<string, PbxConfig>();
  private readonly trunkByName = new Map<string, TrunkConfig>();
  private readonly lineByNumber = new Map<string, LineConfig>();
  private readonly lineByExtension = new Map<string, LineConfig>();
  /** Longest first, so the first match is the most specific. */
  private readonly prefixLines: LineConfig[] = [];

  constructor(config: Pick<GatewayConfig, 'trunks' | 'pbxs' | 'lines'>) {
    for (const trunk of config.trunks) {
      this.trunkByName.set(trunk.name, trunk);
      for (const a of trunk.addresses) if (isIP(a)) this.trunkByAddress.set(normalise(a), trunk);
    }
    for (const pbx of config.pbxs) {
      for (const a of pbx.addresses) if (isIP(a)) this.pbxByAddress.set(normalise(a), pbx);
    }
    for (const line of config.lines) {
      if (line.match === 'prefix') this.prefixLines.push(line);
      else this.lineByNumber.set(line.number, line);
      for (const ext of line.extensions) this.lineByExtension.set(ext, line);
    }
    this.prefixLines.sort((a, b) => b.number.length - a.number.length);
  }

  /** An INVITE from the trunk side to `calledNumber`. */
  route(sourceAddress: string, calledNumber: string, at: Date = new Date()): RouteDecision {
    const trunk = this.trunkByAddress.get(normalise(sourceAddress));
    if (!trunk) return FORBIDDEN;
    const line = this.lineFor(calledNumber);
    if (!line) return NOT_FOUND;
    return { kind: 'line', line, trunk, record: recordsAt(line, at) };
  }

  /** An INVITE from a PBX: an agent calling out to `calledNumber` from `callingNumber`. */
  routeOutbound(sourceAddress: string, callingNumber: string, calledNumber: string, at: Date = new Date()): OutboundDecision {
    const pbx = this.isPbx(sourceAddress);
    if (!pbx) return FORBIDDEN;
    const trunk = this.trunkByName.get(pbx.trunk);
    // Validation guarantees both; a hand-built config may not.
    if (trunk?.target === undefined || !DIALLED.test(calledNumber)) return NOT_FOUND;
    const target = `sip:${calledNumber}@${trunk.target.replace(/^sip:/i, '')}`;
    const line = this.lineByExtension.get(callingNumber) ?? this.lineFor(callingNumber);
    if (!line) return { kind: 'outbound', pbx, trunk, target, record: false };
    return { kind: 'outbound', pbx, trunk, target, line, record: recordsAt(line, at) };
  }

  /** The PBX a source address belongs to: only a PBX may hand a call over with INVITE-with-Replaces. */
  isPbx(sourceAddress: string): PbxConfig | undefined {
    return this.pbxByAddress.get(normalise(sourceAddress));
  }

  private lineFor(number: string): LineConfig | undefined {
    return this.lineByNumber.get(number) ?? this.prefixLines.find((l) => number.startsWith(l.number));
  }
}

/** The parts of a sip: URI that say who it reaches; params and headers do not. */
interface SipAddress {
  readonly user: string;
  readonly host: string;
  readonly port: number;
}

const SIP_ADDRESS = /^(sips?):(?:([^@]*)@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?/i;

function parseSip(uri: string): SipAddress | undefined {
  const m = SIP_ADDRESS.exec(uri.trim().replace(/^<(.*)>$/, '$1'));
  if (!m) return undefined;
  const scheme = (m[1] ?? 'sip').toLowerCase();
  return {
    // User parameters (;phone-context=...) are not part of who it is; %23 is '#'.
    user: unescape(m[2]?.split(';')[0] ?? ''),
    host: (m[3] ?? '').toLowerCase(),
    port: m[4] === undefined ? (scheme === 'sips' ? 5061 : 5060) : Number(m[4]),
  };
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Whether `target` (a sip: URI or a bare number) is one of `list` (a line's
 * paymentTargets or unrecordedExtensions). A number entry matches any target
 * whose user part is that number, whatever the host; a URI entry matches the
 * same user at the same host and port (5060 when left out), params ignored.
 */
export function matchesTarget(list: readonly string[], target: string): boolean {
  const sip = parseSip(target);
  // A bare number, or a tel: URI (its params are not the number).
  const user = sip ? sip.user : (target.trim().replace(/^tel:/i, '').split(';')[0] ?? '');
  return list.some((entry) => {
    if (!/^sips?:/i.test(entry)) return entry === user;
    const e = parseSip(entry);
    return e !== undefined && sip !== undefined && e.user === sip.user && e.host === sip.host && e.port === sip.port;
  });
}
