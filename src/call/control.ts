/**
 * The gateway's side of the control API: what an operator or a compliance
 * tool may see of the active calls and do to their capture. The HTTP layer
 * (control/) only translates; every rule about what is allowed lives here.
 */
import type { ActiveCallView, CaptureControl } from '../control/types.js';
import { ControlError } from '../control/errors.js';
import type { Call } from './call.js';
import type { CallCapture } from './call-capture.js';
import { identityOf } from './manifest.js';

export function viewOf(call: Call): ActiveCallView {
  const capture = call.capture;
  return {
    ...identityOf(call),
    startedAt: call.startedAt.toISOString(),
    capture: capture ? capture.state : call.record && !call.optedOut ? 'pending' : 'unrecorded',
    pausedWindows: capture ? capture.pausedWindows() : [],
  };
}

export class GatewayControl implements CaptureControl {
  /** Opt-outs under way: a second request while the first is still discarding must not run it again. */
  private readonly optingOut = new WeakSet<CallCapture>();

  constructor(private readonly calls: ReadonlyMap<string, Call>) {}

  list(): ActiveCallView[] {
    return [...this.calls.values()].filter((c) => !c.ended).map(viewOf);
  }

  get(callId: string): ActiveCallView | undefined {
    const call = this.calls.get(callId);
    return call && !call.ended ? viewOf(call) : undefined;
  }

  pause(callId: string, by: string): ActiveCallView {
    const { call, capture } = this.running(callId);
    if (capture.state === 'paused') throw new ControlError('already-paused', `capture of call ${callId} is already paused`);
    capture.pause('api', by);
    return viewOf(call);
  }

  resume(callId: string, by: string): ActiveCallView {
    const { call, capture } = this.running(callId);
    if (capture.state !== 'paused') throw new ControlError('not-paused', `capture of call ${callId} is not paused`);
    capture.resume('api', by);
    return viewOf(call);
  }

  async stop(callId: string, by: string): Promise<ActiveCallView> {
    const { call, capture } = this.running(callId);
    await capture.stop('api', by);
    return viewOf(call);
  }

  /**
   * Allowed after a stop too (by the API, or a transfer): the caller's wish
   * covers what was captured before the stop, which the line may say to
   * discard. Only a second opt-out is refused.
   */
  async optOut(callId: string, by: string): Promise<{ call: ActiveCallView; discarded: number }> {
    const pending = this.calls.get(callId);
    // Not answered yet (ringing, announcement): nothing captured; the call will simply never be.
    if (pending && !pending.ended && !pending.capture && pending.record && !pending.optedOut) {
      pending.optOutBeforeCapture(by);
      return { call: viewOf(pending), discarded: 0 };
    }
    const { call, capture } = this.captured(callId);
    if (capture.optOut || this.optingOut.has(capture)) throw new ControlError('stopped', `call ${callId} has already been opted out of recording`);
    this.optingOut.add(capture);
    const discarded = await capture.optOutNow(by);
    return { call: viewOf(call), discarded };
  }

  /** The call, when it is active and its capture can still change. */
  private running(callId: string): { call: Call; capture: CallCapture } {
    const found = this.captured(callId);
    if (found.capture.state === 'stopped') throw new ControlError('stopped', `capture of call ${callId} has already stopped`);
    return found;
  }

  /** The call, when it is active and was captured (capture may have stopped since). */
  private captured(callId: string): { call: Call; capture: CallCapture } {
    const call = this.calls.get(callId);
    if (!call || call.ended) throw new ControlError('call-not-found', `no active call ${callId}`);
    const capture = call.capture;
    if (!capture) throw new ControlError('not-recorded', `call ${callId} is not being recorded`);
    return { call, capture };
  }
}
