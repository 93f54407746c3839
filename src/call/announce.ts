/**
 * Plays the recording announcement to the caller, and the optional second,
 * longer information message when the caller presses its key (RFC 4733)
 * during the first.
 */
import { DtmfReceiver } from '../media/dtmf.js';
import type { MediaLeg } from '../media/leg.js';
import { play, type Pacer } from '../media/player.js';
import type { Announcement } from '../media/announcement.js';

export interface AnnouncementSet {
  readonly first: Announcement;
  readonly second?: { readonly audio: Announcement; readonly key: string };
}

export type AnnouncementOutcome = 'played' | 'played-second' | 'aborted';

export async function announce(
  leg: MediaLeg,
  set: AnnouncementSet,
  opts: {
    readonly codec: 'PCMU' | 'PCMA';
    readonly payloadType: 0 | 8;
    readonly telephoneEventPayloadType?: number;
    readonly pacer: Pacer;
    readonly signal: AbortSignal;
    /** The key a caller presses during the announcement to ask not to be recorded. */
    readonly optOutKey?: string;
    readonly onOptOut?: () => void;
  },
): Promise<AnnouncementOutcome> {
  const audioOf = (a: Announcement): Buffer => (opts.codec === 'PCMU' ? a.pcmu : a.pcma);
  const first = new AbortController();
  const onOuterAbort = (): void => first.abort();
  opts.signal.addEventListener('abort', onOuterAbort, { once: true });
  let secondRequested = false;

  const { second } = set;
  const tePt = opts.telephoneEventPayloadType;
  let optedOut = false;
  const listen = (withSecond: boolean): void => {
    if (tePt === undefined || (!withSecond && opts.optOutKey === undefined)) return;
    const dtmf = new DtmfReceiver();
    leg.tap = (packet, view) => {
      if (view.payloadType !== tePt) return;
      const digit = dtmf.onPacket(view, packet);
      if (digit === null) return;
      if (digit === opts.optOutKey && !optedOut) {
        optedOut = true;
        opts.onOptOut?.();
      } else if (withSecond && second && digit === second.key && !secondRequested) {
        secondRequested = true;
        first.abort();
      }
    };
  };
  listen(second !== undefined);
  try {
    const r = await play(leg, audioOf(set.first), { payloadType: opts.payloadType, signal: first.signal, pacer: opts.pacer });
    if (opts.signal.aborted) return 'aborted';
    if (!secondRequested || !second) return r === 'done' ? 'played' : 'aborted';
    leg.tap = null;
    // The longer message explains the choice: the opt-out key still works while it plays.
    listen(false);
    const r2 = await play(leg, audioOf(second.audio), { payloadType: opts.payloadType, signal: opts.signal, pacer: opts.pacer });
    return r2 === 'done' ? 'played-second' : 'aborted';
  } finally {
    leg.tap = null;
    opts.signal.removeEventListener('abort', onOuterAbort);
  }
}
