/**
 * Holds: a call's recordings kept past their retention, for a complaint or as
 * evidence. A hold lives in the object store beside the recordings, one small
 * JSON object per call under `holds/`, so it travels with them: every gateway
 * sharing the store, and a restored copy of it, sees the same holds.
 *
 * A hold is keyed the way the recordings' folder is (`keySafe(callId)`), so
 * the retention sweep finds it from the folder name alone. `holds` is
 * therefore no line's key (the config refuses such a line name).
 */
import { streamToBuffer } from '../access/export.js';
import { HOLD_PREFIX, keySafe } from '../recording/layout.js';
import { StorageError, type ObjectStore } from '../storage/store.js';

export interface Hold {
  /** The call's id as the hold was placed with. */
  readonly callId: string;
  /** Why it is held: a complaint or case reference. */
  readonly reason: string;
  readonly by: string;
  /** ISO 8601, UTC. */
  readonly placedAt: string;
  /** ISO 8601, UTC; absent: held until released. */
  readonly until?: string;
}

export function holdKey(callId: string): string {
  return `${HOLD_PREFIX}${keySafe(callId)}.json`;
}

/** Whether the hold still keeps its call's recordings at `now`. */
export function holdsAt(hold: Hold, now: Date): boolean {
  return hold.until === undefined || Date.parse(hold.until) > now.getTime();
}

function parseHold(key: string, text: string): Hold {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new StorageError('STORE_REJECTED', `hold ${key} is not JSON`);
  }
  const h = v as Partial<Record<keyof Hold, unknown>>;
  const ok =
    typeof h.callId === 'string' &&
    typeof h.reason === 'string' &&
    typeof h.by === 'string' &&
    typeof h.placedAt === 'string' &&
    (h.until === undefined || (typeof h.until === 'string' && !Number.isNaN(Date.parse(h.until))));
  if (!ok) throw new StorageError('STORE_REJECTED', `hold ${key} lacks callId, reason, by or placedAt, or has a bad until`);
  return v as Hold;
}

export class Holds {
  constructor(private readonly store: ObjectStore) {}

  /** Places or replaces the call's hold. */
  async place(hold: Hold): Promise<void> {
    await this.store.put(holdKey(hold.callId), Buffer.from(JSON.stringify(hold)), { tags: { kind: 'hold' }, contentType: 'application/json' });
  }

  /** Null when the call has no hold. */
  async get(callId: string): Promise<Hold | null> {
    const key = holdKey(callId);
    try {
      return parseHold(key, (await streamToBuffer(await this.store.get(key))).toString('utf8'));
    } catch (err) {
      if (err instanceof StorageError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  /** The hold removed, or null when there was none. */
  async release(callId: string): Promise<Hold | null> {
    const hold = await this.get(callId);
    if (hold) await this.store.delete(holdKey(callId));
    return hold;
  }

  /**
   * Every hold, by the folder name its recordings have. One that cannot be
   * read keeps its call all the same (`unreadable`): a damaged hold must fail
   * towards keeping the evidence, never towards deleting it.
   */
  async all(): Promise<{ holds: Map<string, Hold>; unreadable: Set<string> }> {
    const holds = new Map<string, Hold>();
    const unreadable = new Set<string>();
    for await (const o of this.store.list(HOLD_PREFIX)) {
      const name = o.key.slice(HOLD_PREFIX.length);
      if (name.includes('/') || !name.endsWith('.json')) continue;
      const folder = name.slice(0, -'.json'.length);
      try {
        holds.set(folder, parseHold(o.key, (await streamToBuffer(await this.store.get(o.key))).toString('utf8')));
      } catch (err) {
        if (err instanceof StorageError && err.code === 'NOT_FOUND') continue; // released meanwhile
        if (!(err instanceof StorageError && err.code === 'STORE_REJECTED')) throw err;
        unreadable.add(folder);
      }
    }
    return { holds, unreadable };
  }
}
