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
import type { ObjectStore } from '../storage/store.js';
import type { Hold, Holds } from './holds.js';
import type { SweepReport } from './sweep.js';

export interface RetentionServiceOptions {
  readonly store: ObjectStore;
  readonly holds: Holds;
  readonly sweep: () => Promise<SweepReport>;
  readonly now?: () => Date;
}

export class RetentionService implements RetentionControl {
  constructor(private readonly opts: RetentionServiceOptions) {}

  async holds(): Promise<Hold[]> {
    return [...(await this.opts.holds.all()).holds.values()];
  }

  async place(callId: string, body: HoldBody): Promise<{ hold: Hold; objects: number }> {
    const objects = (await objectsOfCall(this.opts.store, callId)).length;
    if (objects === 0) throw new ControlError('recording-not-found', `no recordings of call ${callId} in the store`);
    const hold: Hold = {
      callId,
      reason: body.reason,
      by: body.by,
      placedAt: (this.opts.now ?? (() => new Date()))().toISOString(),
      ...(body.until !== undefined ? { until: body.until } : {}),
    };
    await this.opts.holds.place(hold);
    return { hold, objects };
  }

  async release(callId: string): Promise<Hold> {
    const hold = await this.opts.holds.release(callId);
    if (!hold) throw new ControlError('hold-not-found', `call ${callId} has no hold`);
    return hold;
  }

  sweep(): Promise<SweepReport> {
    return this.opts.sweep();
  }
}
