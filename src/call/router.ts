/**
 * Decides what a new INVITE is: refused because it comes from no trunk (only
 * the trunk's addresses may start calls), refused because it dials no line,
 * or a call to a line with its policy.
 */
import { isIP } from 'node:net';
import type { GatewayConfig, LineConfig, TrunkConfig } from '../config/types.js';

export type RouteDecision =
  | { readonly kind: 'reject'; readonly status: 403 | 404; readonly reason: string }
  | { readonly kind: 'line'; readonly line: LineConfig; readonly trunk: TrunkConfig };

/** IPv4-mapped IPv6 sources (::ffff:a.b.c.d) compare as their IPv4 address. */
function normalise(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}

export class Router {
  private readonly trunkByAddress = new Map<string, TrunkConfig>();
  private readonly lineByNumber = new Map<string, LineConfig>();

  constructor(config: Pick<GatewayConfig, 'trunks' | 'lines'>) {
    for (const trunk of config.trunks) {
      for (const a of trunk.addresses) if (isIP(a)) this.trunkByAddress.set(normalise(a), trunk);
    }
    for (const line of config.lines) this.lineByNumber.set(line.number, line);
  }

  route(sourceAddress: string, calledNumber: string): RouteDecision {
    const trunk = this.trunkByAddress.get(normalise(sourceAddress));
    if (!trunk) return { kind: 'reject', status: 403, reason: 'Forbidden' };
    const line = this.lineByNumber.get(calledNumber);
    if (!line) return { kind: 'reject', status: 404, reason: 'Not Found' };
    return { kind: 'line', line, trunk };
  }
}
