/**
 * Finding every call of one telephone number, for a subject access request.
 * Caller and called numbers are personal data, so they live only in the
 * encrypted manifests: the search opens each manifest in range with the
 * private key, on the records officer's machine, never on the gateway.
 *
 * Numbers are compared by their digits, and, where both have at least nine,
 * by their last nine, so that 07700 900123, +44 7700 900123 and
 * 447700900123 are one number. A search casts wide on purpose: the officer
 * reviews what it lists before anything is released.
 */
import type { Readable } from 'node:stream';
import type { KeyDecryptionKey } from '../crypto/keys.js';
import { keySafe } from '../recording/layout.js';
import type { Manifest } from '../recording/manifest.js';
import type { ObjectStore } from '../storage/store.js';
import { openManifest } from './export.js';
import { messageOf } from '../errors.js';

export interface FindQuery {
  readonly number: string;
  /** UTC days, inclusive. */
  readonly from?: string;
  readonly to?: string;
  readonly line?: string;
}

export interface FoundCall {
  /** The call's folder in the store: what `recgw export --call` takes. */
  readonly folder: string;
  readonly manifest: Manifest;
  /** caller, called, or both. */
  readonly matched: readonly ('caller' | 'called')[];
}

export interface FindResult {
  readonly found: FoundCall[];
  readonly manifestsRead: number;
  /** Manifests that could not be opened (another key, damage): listed, never silently passed over. */
  readonly unreadable: { readonly key: string; readonly error: string }[];
}

const TAIL = 9;

function digitsOf(n: string): string {
  return n.replace(/\D/g, '');
}

/** Whether two numbers are one, by digits or by their last nine. */
export function sameNumber(a: string, b: string): boolean {
  const x = digitsOf(a);
  const y = digitsOf(b);
  if (x === '' || y === '') return false;
  if (x === y) return true;
  return x.length >= TAIL && y.length >= TAIL && x.slice(-TAIL) === y.slice(-TAIL);
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** `<line>/<yyyy>/<mm>/<dd>/<call>/manifest[-start].rec`, split; undefined for any other key. */
function manifestPath(key: string): { line: string; day: string; folder: string; final: boolean } | undefined {
  const m = /^([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/([^/]+)\/manifest(-start)?\.rec$/.exec(key);
  if (!m) return undefined;
  return { line: m[1] ?? '', day: `${m[2] ?? ''}-${m[3] ?? ''}-${m[4] ?? ''}`, folder: m[5] ?? '', final: m[6] === undefined };
}

export async function findCalls(store: ObjectStore, kdk: KeyDecryptionKey, q: FindQuery): Promise<FindResult> {
  if (digitsOf(q.number) === '') throw new Error(`"${q.number}" holds no digits to search for`);
  const line = q.line !== undefined ? keySafe(q.line) : undefined;
  // The final manifest where there is one; the start manifest of a call that never ended (a crash).
  const manifests = new Map<string, { key: string; final: boolean }>();
  for await (const o of store.list('')) {
    const p = manifestPath(o.key);
    if (!p) continue;
    if (line !== undefined && p.line !== line) continue;
    if ((q.from !== undefined && p.day < q.from) || (q.to !== undefined && p.day > q.to)) continue;
    const call = o.key.slice(0, o.key.lastIndexOf('/'));
    const known = manifests.get(call);
    if (!known || (p.final && !known.final)) manifests.set(call, { key: o.key, final: p.final });
  }
  const found: FoundCall[] = [];
  const unreadable: { key: string; error: string }[] = [];
  for (const [call, { key }] of manifests) {
    let manifest: Manifest;
    try {
      manifest = openManifest(await bytesOf(await store.get(key)), kdk);
    } catch (err) {
      unreadable.push({ key, error: messageOf(err) });
      continue;
    }
    const matched: ('caller' | 'called')[] = [];
    if (sameNumber(manifest.callerNumber, q.number)) matched.push('caller');
    if (sameNumber(manifest.calledNumber, q.number)) matched.push('called');
    if (matched.length > 0) found.push({ folder: call.slice(call.lastIndexOf('/') + 1), manifest, matched });
  }
  found.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? -1 : a.manifest.startedAt > b.manifest.startedAt ? 1 : 0));
  return { found, manifestsRead: manifests.size, unreadable };
}
