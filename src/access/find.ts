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
import type { Manifest, ManifestSegment } from '../recording/manifest.js';
import type { ObjectStore } from '../storage/store.js';
import { lineFolders, openManifest, streamToBuffer, unlistedSegments } from './export.js';
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
  /** Segments the manifest lists that the store does not hold (not uploaded yet, or lost). */
  readonly absent: readonly ManifestSegment[];
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

/**
 * What to list for a query: each line's folder (the one named, or every line
 * in the store), narrowed to the part of the date both ends of the range
 * share (`2026/11/` for a November), so a search of a month reads a month.
 */
async function placesOfQuery(store: ObjectStore, q: FindQuery): Promise<string[]> {
  const lines = q.line !== undefined ? [keySafe(q.line)] : await lineFolders(store);
  const days = sharedDays(q.from, q.to);
  return lines.map((line) => `${line}/${days}`);
}

/** The folders (`yyyy/`, `yyyy/mm/`, `yyyy/mm/dd/`) every day from `from` to `to` lies in; '' when they share none. */
export function sharedDays(from: string | undefined, to: string | undefined): string {
  if (from === undefined || to === undefined) return '';
  const a = `${from.replace(/-/g, '/')}/`;
  const b = `${to.replace(/-/g, '/')}/`;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, a.lastIndexOf('/', i - 1) + 1);
}

export async function findCalls(store: ObjectStore, kdk: KeyDecryptionKey, q: FindQuery): Promise<FindResult> {
  const number = q.number;
  if (number !== undefined && digitsOf(number) === '') throw new Error(`"${number}" holds no digits to search for`);
  // The final manifest where there is one; the start manifest of a call that never ended (a crash).
  // `names` are the call's objects listed beside it, so its segments are checked without a request each.
  const manifests = new Map<string, { key: string; folder: string; prefix: string; final: boolean; names: readonly string[] }>();
  // A listing gives a folder's keys together: the current call's names are kept until the next call's come.
  let current: { prefix: string; names: string[] } | undefined;
  const keepNames = (): void => {
    if (!current) return;
    const m = manifests.get(current.prefix);
    if (m) m.names = current.names;
  };
  for (const place of await placesOfQuery(store, q)) {
    for await (const o of store.list(place)) {
      const k = parseRecordingKey(o.key);
      if (!k) continue;
      if ((q.from !== undefined && k.day < q.from) || (q.to !== undefined && k.day > q.to)) continue;
      if (current?.prefix !== k.prefix) {
        keepNames();
        current = { prefix: k.prefix, names: [] };
      }
      current.names.push(k.name);
      if (k.name !== 'manifest.rec' && k.name !== 'manifest-start.rec') continue;
      const final = k.name === 'manifest.rec';
      const known = manifests.get(k.prefix);
      if (!known || (final && !known.final)) manifests.set(k.prefix, { key: o.key, folder: k.folder, prefix: k.prefix, final, names: [] });
    }
  }
  keepNames();
  const found: FoundCall[] = [];
  const unreadable: { key: string; error: string }[] = [];
  for (const { key, folder, prefix, names } of manifests.values()) {
    let manifest: Manifest;
    try {
      manifest = openManifest(await streamToBuffer(await store.get(key)), kdk);
    } catch (err) {
      unreadable.push({ key, error: messageOf(err) });
      continue;
    }
    const matched: ('caller' | 'called')[] = [];
    if (number !== undefined) {
      if (sameNumber(manifest.callerNumber, number)) matched.push('caller');
      if (sameNumber(manifest.calledNumber, number)) matched.push('called');
      if (matched.length === 0) continue;
    }
    const { absent } = await unlistedSegments(store, manifest, (k) => k.startsWith(prefix) && names.includes(k.slice(prefix.length)));
    found.push({ folder, prefix, manifest, matched, absent });
  }
  found.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? -1 : a.manifest.startedAt > b.manifest.startedAt ? 1 : 0));
  return { found, manifestsRead: manifests.size, unreadable };
}

/** Whether the call's recording is whole: its manifest says so, and the store holds every segment it lists. */
export function isWhole(f: FoundCall): boolean {
  return f.manifest.complete && f.absent.length === 0;
}
