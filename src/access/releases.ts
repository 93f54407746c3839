/**
 * The record of every copy released from the store: who exported which
 * calls, when, and why (a subject access request, a complaint, evidence).
 * Exports run where the private key is, not on the gateway, so the record
 * goes to the one place both share: the store, under `releases/`. It is
 * written before the first byte is decrypted, and a release that cannot be
 * recorded does not happen.
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { RELEASE_PREFIX } from '../recording/layout.js';
import type { ObjectStore } from '../storage/store.js';
import { messageOf } from '../errors.js';

export interface Release {
  /** ISO 8601, UTC. */
  readonly at: string;
  readonly by: string;
  readonly reason: string;
  /** What asked for it: `export`, or `find` (a subject access request). */
  readonly tool: 'export' | 'find';
  /** The calls (store folders) or objects released. */
  readonly released: readonly string[];
  /** For `find`: what was searched by (`number` or `line`; never the number itself) and the range. */
  readonly query?: Readonly<Record<string, string>>;
}

/** Who runs the tool, when no --by says otherwise. */
export function defaultReleaser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function recordRelease(store: ObjectStore, release: Omit<Release, 'at'>, now = new Date()): Promise<string> {
  const at = now.toISOString();
  const key = `${RELEASE_PREFIX}${at.replace(/[:.]/g, '')}-${randomBytes(4).toString('hex')}.json`;
  const body: Release = { at, ...release };
  try {
    await store.put(key, Buffer.from(JSON.stringify(body)), { tags: { kind: 'release' }, contentType: 'application/json' });
  } catch (err) {
    throw new Error(`the release could not be recorded in ${store.location}, so nothing was exported: ${messageOf(err)}`, { cause: err });
  }
  return key;
}
