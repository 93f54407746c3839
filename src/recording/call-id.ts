/**
 * A call's id: a UUID in the time-ordered form (RFC 9562, version 7), whose
 * first 48 bits are the millisecond it was made. The call's objects are filed
 * under the day its capture started (recording/layout.ts), when the agent
 * answered, so the id alone says which few day folders hold the call: a
 * hold, an erasure or an export lists those instead of the whole store,
 * which on a large S3 store takes minutes.
 */
import { randomBytes } from 'node:crypto';

const V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;

export function newCallId(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** When the id was made; undefined for an id without a time in it (one an earlier version made, a random UUID). */
export function callIdTime(id: string): Date | undefined {
  const m = V7.exec(id);
  return m ? new Date(parseInt(`${m[1] ?? ''}${m[2] ?? ''}`, 16)) : undefined;
}

/**
 * The times whose UTC days can hold the call's objects: the id's own; the
 * two after, for a call answered after midnight (the ring timeout may be up
 * to a day, and the announcement comes before it); and the day before, for a
 * clock stepped back in between. Undefined for an id without a time in it.
 */
export function callIdDays(id: string): Date[] | undefined {
  const at = callIdTime(id)?.getTime();
  return at === undefined ? undefined : [at - DAY_MS, at, at + DAY_MS, at + 2 * DAY_MS].map((t) => new Date(t));
}
