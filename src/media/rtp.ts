/**
 * RTP fixed header (RFC 3550 §5.1), parsed into a caller-owned view so the relay
 * path allocates nothing per packet. Every length a packet claims (CSRC count,
 * header extension, padding) is checked against the bytes actually received:
 * a short or lying packet is rejected, never read past.
 */

export interface RtpView {
  version: number;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Where the payload starts: after the CSRCs and the header extension. */
  payloadOffset: number;
  /** Payload bytes, padding excluded. */
  payloadLength: number;
}

export const RTP_HEADER_LENGTH = 12;

export function newRtpView(): RtpView {
  return {
    version: 0,
    padding: false,
    extension: false,
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/** Fills `view` from `buf`; false (view contents unspecified) when the packet is not valid RTP. */
export function parseRtp(buf: Buffer, view: RtpView): boolean {
  const length = buf.length;
  if (length < RTP_HEADER_LENGTH) return false;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  const version = b0 >>> 6;
  if (version !== 2) return false;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  let offset = RTP_HEADER_LENGTH + (b0 & 0x0f) * 4;
  if (offset > length) return false;
  if (extension) {
    // 16-bit profile id, 16-bit length in 32-bit words, then the words.
    if (offset + 4 > length) return false;
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
    if (offset > length) return false;
  }
  let end = length;
  if (padding) {
    // The last octet counts the padding, itself included: 0 is not a valid count.
    const pad = buf[length - 1] as number;
    if (pad === 0 || offset + pad > length) return false;
    end -= pad;
  }
  view.version = version;
  view.padding = padding;
  view.extension = extension;
  view.marker = (b1 & 0x80) !== 0;
  view.payloadType = b1 & 0x7f;
  view.sequence = buf.readUInt16BE(2);
  view.timestamp = buf.readUInt32BE(4);
  view.ssrc = buf.readUInt32BE(8);
  view.payloadOffset = offset;
  view.payloadLength = end - offset;
  return true;
}

export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/** Writes a 12-byte header (version 2, no padding, extension or CSRC) at the start of `buf`; returns 12. */
export function writeRtpHeader(buf: Buffer, h: RtpHeaderFields): number {
  buf[0] = 0x80;
  buf[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.sequence & 0xffff, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.ssrc >>> 0, 8);
  return RTP_HEADER_LENGTH;
}
