/**
 * What the control API asks of retention: place, release and list holds, and
 * sweep now. A hold is placed only on a call the store holds recordings of:
 * a hold on a mistyped id would keep nothing, and the evidence would go at
 * the next sweep while everyone believed it kept.
 */
import { objectsOfCall } from '../access/export.js';
import type { HoldBody } from '../control/body.js';
import { ControlError } from '../control/errors.js';
import type { RetentionControl } from '../control/types.js';
import { parseRecordingKey } from '../recording/layout.js';
import { StorageError, type ObjectStore } from '../storage/store.js';
import { deleteCall } from './delete-call.js';
import type { Logger } from '../ops/log.js';
import type { Hold, Holds } from './holds.js';
import type { SweepReport } from './sweep.js';
import { messageOf } from '../errors.js';

export interface RetentionServiceOptions {
  readonly store: ObjectStore;
  readonly holds: Holds;
  readonly sweep: () => Promise<SweepReport>;
  /** Whether the call is still up: its recording is not finished, so it cannot be erased (opt-out is for that). */
  readonly isActive: (callId: string) => boolean;
  /** The call's segments still in the spool, not yet in the store: they would come back after an erasure. */
  readonly pendingInSpool: (callId: string) => number;
  readonly now?: () => Date;
}

export class RetentionService implements RetentionControl {
  constructor(private readonly opts: RetentionServiceOptions) {}

  async holds(): Promise<Hold[]> {
    return this.storeCall(async () => [...(await this.opts.holds.all()).holds.values()]);
  }

  /**
   * The hold record goes first: from then on the sweep keeps the call, and
   * the uploader sets the legal hold on whatever of it is stored later
   * (`legalHoldOnUpload`). The objects are listed again after it, so that
   * none stored in between goes without one (S3 Object Lock), and a
   * lifecycle rule keeps them too.
   */
  async place(callId: string, body: HoldBody): Promise<{ hold: Hold; objects: number }> {
    return this.storeCall(async () => {
      const found = await objectsOfCall(this.opts.store, callId);
      if (found.length === 0) throw new ControlError('recording-not-found', `no recordings of call ${callId} in the store`);
      const hold: Hold = {
        callId,
        reason: body.reason,
        by: body.by,
        placedAt: (this.opts.now ?? (() => new Date()))().toISOString(),
        ...(body.until !== undefined ? { until: body.until } : {}),
      };
      await this.opts.holds.place(hold);
      const objects = this.opts.store.legalHold ? await objectsOfCall(this.opts.store, callId) : found;
      for (const o of objects) await this.opts.store.legalHold?.(o.key, true);
      return { hold, objects: objects.length };
    });
  }

  /** The legal holds are cleared first, so a failure leaves the hold record, and the call kept, as it was. */
  async release(callId: string): Promise<Hold> {
    return this.storeCall(async () => {
      const hold = await this.opts.holds.get(callId);
      if (!hold) throw new ControlError('hold-not-found', `call ${callId} has no hold`);
      for (const o of await objectsOfCall(this.opts.store, callId)) await this.opts.store.legalHold?.(o.key, false);
      await this.opts.holds.release(callId);
      return hold;
    });
  }

  /** A store that fails is a 503 naming its error, not a bare 500: the records officer can act on it. */
  private async storeCall<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof StorageError) throw new ControlError('store-failed', `the recording store failed: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /**
   * Erases a finished call's recordings before their retention ends (a
   * recording made in error, a right-to-erasure request). Refused while the
   * call is up, while the spool still holds part of it, and under a hold.
   */
  async erase(callId: string): Promise<{ objects: number; deleted: number }> {
    if (this.opts.isActive(callId)) throw new ControlError('call-active', `call ${callId} is still up: opt it out instead`);
    const pending = this.opts.pendingInSpool(callId);
    if (pending > 0) throw new ControlError('not-uploaded', `${pending} ${pending === 1 ? 'segment' : 'segments'} of call ${callId} are still in the spool: erase once they are in the store`);
    return this.storeCall(async () => {
      const hold = await this.opts.holds.get(callId);
      if (hold) throw new ControlError('held', `call ${callId} is held (${hold.reason}, by ${hold.by}): release the hold first`);
      const keys = (await objectsOfCall(this.opts.store, callId)).map((o) => o.key);
      if (keys.length === 0) throw new ControlError('recording-not-found', `no recordings of call ${callId} in the store`);
      const { deleted, failure } = await deleteCall(this.opts.store, keys);
      if (failure !== undefined) {
        const why = messageOf(failure);
        throw new ControlError('store-failed', `${deleted} of ${keys.length} objects erased; the store refused the rest: ${why}`, { cause: failure });
      }
      return { objects: keys.length, deleted };
    });
  }

  sweep(): Promise<SweepReport> {
    return this.opts.sweep();
  }
}

/**
 * For the uploader's `uploaded` event, where the store keeps legal holds: an
 * object of a held call stored after the hold was placed (a call still
 * running, a spool catching up after an outage) gets the legal hold too.
 */
export function legalHoldOnUpload(store: ObjectStore, holds: Holds, log: Logger): (e: { readonly key: string }) => void {
  return ({ key }) => {
    const folder = parseRecordingKey(key)?.folder;
    if (folder === undefined || !store.legalHold) return;
    const hold = store.legalHold.bind(store);
    holds
      .get(folder)
      .then(async (held) => {
        if (held) await hold(key, true);
      })
      .catch((err: unknown) => log.warn({ err, key }, 'legal hold not set on a held call\'s new object: the hold record still keeps it from the sweep; place the hold again'));
  };
}
