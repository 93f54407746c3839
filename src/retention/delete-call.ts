/**
 * Deleting one call's objects, as both the retention sweep and an erasure
 * do: segments first, manifests last (the final one at the very end), so a
 * deletion cut short leaves a call that is still recognised, and finished,
 * the next time.
 */
import type { ObjectStore } from '../storage/store.js';

function rank(key: string): number {
  return key.endsWith('/manifest.rec') ? 2 : key.endsWith('/manifest-start.rec') ? 1 : 0;
}

function deleteOrder(a: string, b: string): number {
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Stops at the first delete the store refuses: what it was, and how many went before it. */
export async function deleteCall(store: ObjectStore, keys: readonly string[]): Promise<{ deleted: number; failure?: unknown }> {
  let deleted = 0;
  for (const key of [...keys].sort(deleteOrder)) {
    try {
      await store.delete(key);
      deleted++;
    } catch (failure) {
      return { deleted, failure };
    }
  }
  return { deleted };
}
