/**
 * A small pcap reader for test fixtures: the UDP datagrams of a capture, in
 * order. Classic pcap only (not pcapng), either byte order, micro- or
 * nanosecond stamps; Ethernet (with VLAN tags), Linux cooked capture v1 and
 * v2, BSD loopback and raw IP links; IPv4 and IPv6 (without extension
 * headers). Anything else in the file is skipped.
 */
import { readFileSync } from 'node:fs';

export interface PcapUdpDatagram {
  /** Capture time in microseconds since the epoch. */
  readonly timeUs: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
}

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_LINUX_SLL = 113;
const LINK_LINUX_SLL2 = 276;

/** The UDP payloads of `file`, in capture order. */
export function readPcapUdpPayloads(file: string): Buffer[] {
  return readPcapUdp(file).map((d) => d.payload);
}

export function readPcapUdp(file: string): PcapUdpDatagram[] {
  const buf = readFileSync(file);
  if (buf.length < 24) throw new Error(`${file}: too short for a pcap file`);
  const magic = buf.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`${file}: not a classic pcap file (magic ${magic.toString(16)})`);
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20) & 0xffff;
  if (![LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LINUX_SLL, LINK_LINUX_SLL2].includes(link)) {
    throw new Error(`${file}: unsupported link type ${link}`);
  }

  const out: PcapUdpDatagram[] = [];
  let o = 24;
  while (o + 16 <= buf.length) {
    const seconds = u32(o);
    const fraction = u32(o + 4);
    const captured = u32(o + 8);
    const start = o + 16;
    o = start + captured;
    if (o > buf.length) break; // a truncated last record
    const frame = buf.subarray(start, o);
    const ip = ipPacket(frame, link);
    const udp = ip && udpDatagram(ip);
    if (!udp) continue;
    out.push({ timeUs: seconds * 1e6 + (nano ? Math.floor(fraction / 1000) : fraction), ...udp });
  }
  return out;
}

/** The IP packet inside a link-layer frame, or null when it carries something else. */
function ipPacket(frame: Buffer, link: number): Buffer | null {
  let offset: number;
  let etherType: number;
  switch (link) {
    case LINK_ETHERNET: {
      if (frame.length < 14) return null;
      offset = 12;
      etherType = frame.readUInt16BE(offset);
      while ((etherType === 0x8100 || etherType === 0x88a8) && frame.length >= offset + 6) {
        offset += 4;
        etherType = frame.readUInt16BE(offset);
      }
      offset += 2;
      break;
    }
    case LINK_LINUX_SLL:
      if (frame.length < 16) return null;
      etherType = frame.readUInt16BE(14);
      offset = 16;
      break;
    case LINK_LINUX_SLL2:
      if (frame.length < 20) return null;
      etherType = frame.readUInt16BE(0);
      offset = 20;
      break;
    case LINK_NULL: {
      if (frame.length < 4) return null;
      // The address family in the capturing host's byte order: 2 is IPv4; IPv6 is 24, 28 or 30.
      const family = frame.readUInt32LE(0) < 0x10000 ? frame.readUInt32LE(0) : frame.readUInt32BE(0);
      etherType = family === 2 ? 0x0800 : [24, 28, 30].includes(family) ? 0x86dd : 0;
      offset = 4;
      break;
    }
    default: {
      // Raw IP: the version nibble says which.
      const v = (frame[0] ?? 0) >>> 4;
      etherType = v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0;
      offset = 0;
    }
  }
  if (etherType !== 0x0800 && etherType !== 0x86dd) return null;
  return frame.subarray(offset);
}

function udpDatagram(ip: Buffer): { srcPort: number; dstPort: number; payload: Buffer } | null {
  const version = (ip[0] ?? 0) >>> 4;
  let udpStart: number;
  let ipEnd: number;
  if (version === 4) {
    if (ip.length < 20) return null;
    const headerLength = ((ip[0] as number) & 0x0f) * 4;
    if ((ip[9] as number) !== 17) return null;
    // A later fragment carries no UDP header.
    if ((ip.readUInt16BE(6) & 0x1fff) !== 0) return null;
    udpStart = headerLength;
    ipEnd = Math.min(ip.length, ip.readUInt16BE(2));
  } else if (version === 6) {
    if (ip.length < 40 || (ip[6] as number) !== 17) return null;
    udpStart = 40;
    ipEnd = Math.min(ip.length, 40 + ip.readUInt16BE(4));
  } else {
    return null;
  }
  if (udpStart + 8 > ipEnd) return null;
  const udpLength = ip.readUInt16BE(udpStart + 4);
  // Ethernet pads short frames: the UDP length, not the frame, says where the payload ends.
  const end = Math.min(ipEnd, udpStart + udpLength);
  if (end < udpStart + 8) return null;
  return { srcPort: ip.readUInt16BE(udpStart), dstPort: ip.readUInt16BE(udpStart + 2), payload: Buffer.from(ip.subarray(udpStart + 8, end)) };
}
