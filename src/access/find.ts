/**
 * Finding every call of one telephone number, for a subject access request,
 * or every call of one line in a range of days, for an auditor.
 * Caller and called numbers are personal data, so they live only in the
 * encrypted manifests: the search opens each manifest in range with the
 * private key, on the records officer's machine, never on the gateway.
 *
 * Numbers are compared by their digits, and, where both have at least nine,
 * by their last nine, so that 07700 900123, +44 7700 900123 and
 * 447700900123 are one number. A search casts wide on purpose: the officer
 * reviews what it lists before anything is released.
 */
import type { KeyDecryptionKey } from '../crypto/keys.js';
import { keySafe, parseRecordingKey } from '../recording/layout.js';
import type { Manifest } from '../recording/manifest.js';
import type { ObjectStore } from '../storage/store.js';
import { openManifest, streamToBuffer } from './export.js';
import { messageOf } from '../errors.js';

export interface FindQuery {
  /** Without it, every call in range matches (a line's calls, for an audit). */
  readonly number?: string;
  /** UTC days, inclusive. */
  readonly from?: string;
  readonly to?: string;
  readonly line?: string;
}

export interface FoundCall {
  /** The call's folder in the store: what `recgw export --call` takes. */
  readonly folder: string;
  /** The whole path to that folder (`<line>/<yyyy>/<mm>/<dd>/<folder>/`): an export lists only there. */
  readonly prefix: string;
  readonly manifest: Manifest;
  /** caller, called, or both; empty when the query names no number. */
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

export async function findCalls(store: ObjectStore, kdk: KeyDecryptionKey, q: FindQuery): Promise<FindResult> {
  const number = q.number;
  if (number !== undefined && digitsOf(number) === '') throw new Error(`"${number}" holds no digits to search for`);
  const line = q.line !== undefined ? keySafe(q.line) : undefined;
  // The final manifest where there is one; the start manifest of a call that never ended (a crash).
  const manifests = new Map<string, { key: string; folder: string; prefix: string; final: boolean }>();
  for await (const o of store.list('')) {
    const k = parseRecordingKey(o.key);
    if (!k || (k.name !== 'manifest.rec' && k.name !== 'manifest-start.rec')) continue;
    if (line !== undefined && k.line !== line) continue;
    if ((q.from !== undefined && k.day < q.from) || (q.to !== undefined && k.day > q.to)) continue;
    const final = k.name === 'manifest.rec';
    const known = manifests.get(k.prefix);
    if (!known || (final && !known.final)) manifests.set(k.prefix, { key: o.key, folder: k.folder, prefix: k.prefix, final });
  }
  const found: FoundCall[] = [];
  const unreadable: { key: string; error: string }[] = [];
  for (const { key, folder, prefix } of manifests.values()) {
    let manifest: Manifest;
    try {
      manifest = openManifest(await streamToBuffer(await store.get(key)), kdk);
    } catch (err) {
      unreadable.push({ key, error: messageOf(err) });
      continue;
    }
    if (number === undefined) {
      found.push({ folder, prefix, manifest, matched: [] });
      continue;
    }
    const matched: ('caller' | 'called')[] = [];
    if (sameNumber(manifest.callerNumber, number)) matched.push('caller');
    if (sameNumber(manifest.calledNumber, number)) matched.push('called');
    if (matched.length > 0) found.push({ folder, prefix, manifest, matched });
  }
  found.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? -1 : a.manifest.startedAt > b.manifest.startedAt ? 1 : 0));
  return { found, manifestsRead: manifests.size, unreadable };
}
