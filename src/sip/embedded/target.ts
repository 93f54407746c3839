/** Where a request goes: host, port and transport of a SIP URI (RFC 3263 reduced to A records). */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { Transport } from '../engine.js';
import type { Peer } from './transport.js';

export interface UriTarget {
  readonly host: string;
  readonly port: number;
  readonly transport: Transport | undefined;
}

/** Reads host, port and `;transport=` from a sip: URI; undefined for anything else. */
export function parseSipUri(uri: string): UriTarget | undefined {
  const m = /^sips?:(?:[^@;?]*@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(?::(\d{1,5}))?((?:;[^?]*)?)/i.exec(uri.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? 5060 : Number(m[2]);
  if (port <= 0 || port > 65535) return undefined;
  const t = /;\s*transport=([a-z]+)/i.exec(m[3] ?? '')?.[1]?.toLowerCase();
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host, port, transport: t === 'tcp' ? 'tcp' : t === 'udp' ? 'udp' : undefined };
}

/** Resolves the URI to an address; `fallback` is the transport when the URI names none. */
export async function resolveTarget(uri: string, fallback: Transport): Promise<Peer | undefined> {
  const t = parseSipUri(uri);
  if (!t) return undefined;
  const address = net.isIP(t.host) !== 0 ? t.host : (await lookup(t.host, { family: 4 })).address;
  return { address, port: t.port, transport: t.transport ?? fallback };
}

/** The same, without DNS: in-dialog targets are what the peer wrote, normally an address. */
export function targetOf(uri: string, fallback: Transport): Peer | undefined {
  const t = parseSipUri(uri);
  if (!t) return undefined;
  return { address: t.host, port: t.port, transport: t.transport ?? fallback };
}
