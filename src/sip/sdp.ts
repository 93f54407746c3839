/**
 * SDP helpers for an anchoring B2BUA: read where a peer wants its audio and
 * what it offers, and rewrite an SDP so the other side sends to our ports
 * while everything else (codecs, ptime, direction, versions) passes unchanged.
 */
import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { isIP } from 'node:net';
import { RecgwError } from '../errors.js';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface AudioCodec {
  readonly payloadType: number;
  readonly name: string;
  readonly rate: number;
}

export interface AudioDescription {
  /** Connection address of the audio stream; '0.0.0.0' means hold (RFC 2543 style). */
  readonly address: string;
  readonly port: number;
  readonly rtcpPort?: number;
  readonly direction: Direction;
  /** In the order offered. */
  readonly codecs: readonly AudioCodec[];
  /** The first G.711 codec offered, the one we record. */
  readonly g711?: AudioCodec & { readonly name: 'PCMU' | 'PCMA' };
  readonly telephoneEventPayloadType?: number;
  /** Hold by direction or by a 0.0.0.0 connection address. */
  readonly onHold: boolean;
}

export class SdpError extends RecgwError {
  constructor(message: string) {
    super('SDP_INVALID', message);
  }
}

// Static payload types need no rtpmap (RFC 3551).
const STATIC: Readonly<Record<number, { name: string; rate: number }>> = {
  0: { name: 'PCMU', rate: 8000 },
  8: { name: 'PCMA', rate: 8000 },
  13: { name: 'CN', rate: 8000 },
};

function audioOf(session: SessionDescription): MediaDescription {
  const audio = session.media.find((m) => m.type === 'audio');
  if (!audio) throw new SdpError('no audio stream in SDP');
  return audio;
}

/** Reads the first audio stream of an SDP. Throws SdpError on an SDP we cannot anchor. */
export function describeAudio(sdp: string): AudioDescription {
  let session: SessionDescription;
  try {
    session = parse(sdp);
  } catch (err) {
    throw new SdpError(`unparsable SDP: ${(err as Error).message}`);
  }
  if (!Array.isArray(session.media)) throw new SdpError('no media in SDP');
  const audio = audioOf(session);
  const address = audio.connection?.ip ?? session.connection?.ip;
  if (!address) throw new SdpError('no connection address for audio');
  // Latching compares packet sources with this address, so it must be an IP literal.
  if (isIP(address) === 0) throw new SdpError(`connection address is not an IP address: ${address}`);
  if (!Number.isInteger(audio.port) || audio.port < 0 || audio.port > 65535) throw new SdpError('bad audio port');

  const codecs: AudioCodec[] = String(audio.payloads ?? '')
    .split(' ')
    .filter((p) => p !== '')
    .map(Number)
    .filter((pt) => Number.isInteger(pt) && pt >= 0 && pt <= 127)
    .map((pt) => {
      const map = audio.rtp.find((r) => r.payload === pt);
      const known = STATIC[pt];
      return { payloadType: pt, name: map?.codec ?? known?.name ?? 'unknown', rate: map?.rate ?? known?.rate ?? 8000 };
    });
  const g711 = codecs.find((c) => (c.name.toUpperCase() === 'PCMU' || c.name.toUpperCase() === 'PCMA') && c.rate === 8000);
  const dtmf = codecs.find((c) => c.name.toLowerCase() === 'telephone-event');
  const direction: Direction = audio.direction ?? session.direction ?? 'sendrecv';

  return {
    address,
    port: audio.port,
    ...(audio.rtcp?.port !== undefined ? { rtcpPort: audio.rtcp.port } : {}),
    direction,
    codecs,
    ...(g711 ? { g711: { ...g711, name: g711.name.toUpperCase() as 'PCMU' | 'PCMA' } } : {}),
    ...(dtmf ? { telephoneEventPayloadType: dtmf.payloadType } : {}),
    onHold: address === '0.0.0.0' || direction === 'sendonly' || direction === 'inactive',
  };
}

/**
 * The SDP to send to the other side: same codecs, ptime, direction and
 * origin versions, but our address and port. A 0.0.0.0 hold address stays
 * 0.0.0.0 so the other side still sees the hold. ICE and crypto lines do not
 * survive anchoring and are dropped.
 */
export function anchorSdp(sdp: string, ours: { readonly address: string; readonly port: number }): string {
  const session = parse(sdp);
  const audio = audioOf(session);
  const held = (audio.connection?.ip ?? session.connection?.ip) === '0.0.0.0';
  const address = held ? '0.0.0.0' : ours.address;
  const ipVer = address.includes(':') ? 6 : 4;
  session.origin = { ...session.origin, address: ours.address, ipVer: ours.address.includes(':') ? 6 : 4 };
  if (session.connection) session.connection = { version: ipVer, ip: address };
  if (audio.connection || !session.connection) audio.connection = { version: ipVer, ip: address };
  audio.port = ours.port;
  delete audio.rtcp;
  delete audio.candidates;
  delete audio.iceUfrag;
  delete audio.icePwd;
  delete audio.crypto;
  // Other streams (video) are refused: we anchor and record audio only.
  for (const m of session.media) {
    if (m !== audio) m.port = 0;
  }
  return write(session);
}
