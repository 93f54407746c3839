/**
 * RFC 4733 telephone-events: the DTMF digits a phone sends as RTP packets of
 * their own payload type. One key press is one event: a run of packets with
 * the same RTP timestamp and a growing duration, the last three (usually)
 * carrying the end bit. A receiver reports the digit once, on the first
 * packet of the run it sees, so a lost first packet does not lose the digit.
 */
import type { RtpView } from './rtp.js';

export interface TelephoneEvent {
  /** 0-9, 10 = *, 11 = #, 12-15 = A-D, higher codes are other tones. */
  event: number;
  end: boolean;
  /** Power level in -dBm0 (0-63). */
  volume: number;
  /** In timestamp units since the event's start. */
  duration: number;
}

export const TELEPHONE_EVENT_LENGTH = 4;

export function parseTelephoneEvent(buf: Buffer, offset: number, length: number): TelephoneEvent | null {
  if (length < TELEPHONE_EVENT_LENGTH || offset < 0 || offset + length > buf.length) return null;
  const flags = buf[offset + 1] as number;
  return {
    event: buf[offset] as number,
    end: (flags & 0x80) !== 0,
    volume: flags & 0x3f,
    duration: buf.readUInt16BE(offset + 2),
  };
}

const DIGITS = '0123456789*#ABCD';

/** The DTMF key of an event code: 0-9 * # A-D, null for other events (flash, tones). */
export function eventToDigit(event: number): string | null {
  return event >= 0 && event < DIGITS.length ? (DIGITS[event] ?? null) : null;
}

const MAX_DURATION = 0xffff;

/** One per leg: feed it every packet of the telephone-event payload type. */
export class DtmfReceiver {
  private seen = false;
  private ssrc = 0;
  private timestamp = 0;
  private event = -1;
  private ended = false;

  /** The digit on the first packet of a new event; null for its repeats, its end retransmissions and non-digit events. */
  onPacket(view: RtpView, packet: Buffer): string | null {
    const te = parseTelephoneEvent(packet, view.payloadOffset, view.payloadLength);
    if (te === null) return null;
    if (this.seen && view.ssrc === this.ssrc && view.timestamp === this.timestamp) {
      if (te.end) this.ended = true;
      return null;
    }
    // RFC 4733 §2.5.1.3: an event longer than the 16-bit duration goes on in a
    // new segment whose timestamp is the old one plus 0xFFFF: the same key press.
    const continuation =
      this.seen && !this.ended && view.ssrc === this.ssrc && te.event === this.event && view.timestamp === ((this.timestamp + MAX_DURATION) >>> 0);
    this.seen = true;
    this.ssrc = view.ssrc;
    this.timestamp = view.timestamp;
    this.event = te.event;
    this.ended = te.end;
    return continuation ? null : eventToDigit(te.event);
  }
}
