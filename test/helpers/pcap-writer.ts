/**
 * Writes RTP packets as a classic pcap (Ethernet, IPv4, UDP) that SIPp's
 * play_pcap_audio replays with the captured spacing: how tests build their
 * own media fixtures (speech from the sip-tester pcaps, generated tones,
 * RFC 4733 events) instead of downloading any.
 */
import { writeFileSync } from 'node:fs';

export interface TimedPacket {
  /** Capture time in microseconds from the start of the file. */
  readonly timeUs: number;
  /** The whole RTP packet (header and payload). */
  readonly rtp: Buffer;
}

const ETHERNET = 14;
const IPV4 = 20;
const UDP = 8;

export function writeRtpPcap(file: string, packets: readonly TimedPacket[]): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  const records = packets.map(({ timeUs, rtp }) => {
    const frameLength = ETHERNET + IPV4 + UDP + rtp.length;
    const rec = Buffer.alloc(16 + frameLength);
    rec.writeUInt32LE(Math.floor(timeUs / 1e6), 0);
    rec.writeUInt32LE(Math.floor(timeUs % 1e6), 4);
    rec.writeUInt32LE(frameLength, 8);
    rec.writeUInt32LE(frameLength, 12);
    const f = 16;
    rec.writeUInt16BE(0x0800, f + 12);
    const ip = f + ETHERNET;
    rec[ip] = 0x45;
    rec.writeUInt16BE(IPV4 + UDP + rtp.length, ip + 2);
    rec[ip + 8] = 64;
    rec[ip + 9] = 17;
    Buffer.from([127, 0, 0, 1]).copy(rec, ip + 12);
    Buffer.from([127, 0, 0, 1]).copy(rec, ip + 16);
    const udp = ip + IPV4;
    rec.writeUInt16BE(6000, udp);
    rec.writeUInt16BE(6001, udp + 2);
    rec.writeUInt16BE(UDP + rtp.length, udp + 4);
    rtp.copy(rec, udp + UDP);
    return rec;
  });
  writeFileSync(file, Buffer.concat([header, ...records]));
}

/** An RTP packet: version 2, no padding or extensions. */
export function rtpPacket(o: { payloadType: number; seq: number; timestamp: number; ssrc: number; marker?: boolean; payload: Buffer }): Buffer {
  const b = Buffer.alloc(12 + o.payload.length);
  b[0] = 0x80;
  b[1] = (o.marker ? 0x80 : 0) | (o.payloadType & 0x7f);
  b.writeUInt16BE(o.seq & 0xffff, 2);
  b.writeUInt32BE(o.timestamp >>> 0, 4);
  b.writeUInt32BE(o.ssrc >>> 0, 8);
  o.payload.copy(b, 12);
  return b;
}
