/**
 * Builds a leg's media for SIPp to play: speech from the sip-tester pcap,
 * silence, in-band DTMF tones (two sines, G.711), and RFC 4733 events taken
 * from the sip-tester DTMF pcaps, laid one after the other on one RTP stream
 * (one SSRC, continuous timestamps), as a phone would send them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIPP_PCAP_DIR } from '../../src/cli/sipp.js';
import { encodeG711, PCMA_SILENCE } from '../../src/media/g711.js';
import { readPcapUdp } from '../media/pcap.js';
import { G711A_PCAP, pcapAudio } from './calls.js';
import { rtpPacket, writeRtpPcap, type TimedPacket } from './pcap-writer.js';

export type MediaPart =
  | { readonly kind: 'speech' }
  | { readonly kind: 'silence'; readonly ms: number }
  /** Nothing sent at all (a phone that sends events instead of audio does this too). */
  | { readonly kind: 'gap'; readonly ms: number }
  | { readonly kind: 'tones'; readonly digits: string; readonly onMs: number; readonly offMs: number; readonly dbm0?: number }
  /** RFC 4733 events from the sip-tester pcaps, one per key, `gapMs` apart. */
  | { readonly kind: 'events'; readonly keys: string; readonly gapMs: number };

const FREQS: Record<string, readonly [number, number]> = {
  '1': [697, 1209], '2': [697, 1336], '3': [697, 1477], A: [697, 1633],
  '4': [770, 1209], '5': [770, 1336], '6': [770, 1477], B: [770, 1633],
  '7': [852, 1209], '8': [852, 1336], '9': [852, 1477], C: [852, 1633],
  '*': [941, 1209], '0': [941, 1336], '#': [941, 1477], D: [941, 1633],
};

/** Peak amplitude of a 0 dBm0 sine in 16-bit linear (G.711's digital milliwatt is 3.14 dB below clipping). */
const DBM0_AMPLITUDE = 32768 * 10 ** (-3.14 / 20);

/** A-law bytes of a DTMF key: two sines at `dbm0` each. */
export function toneAudio(key: string, ms: number, dbm0 = -10): Buffer {
  const f = FREQS[key];
  if (!f) throw new Error(`no DTMF key ${key}`);
  const n = ms * 8;
  const pcm = Buffer.alloc(n * 2);
  const a = DBM0_AMPLITUDE * 10 ** (dbm0 / 20);
  for (let i = 0; i < n; i++) {
    const s = a * Math.sin((2 * Math.PI * f[0] * i) / 8000) + a * Math.sin((2 * Math.PI * f[1] * i) / 8000);
    pcm.writeInt16LE(Math.round(s), i * 2);
  }
  return encodeG711(pcm, 'PCMA');
}

function eventPcap(key: string): string {
  const name = key === '*' ? 'star' : key === '#' ? 'pound' : key;
  return join(SIPP_PCAP_DIR, `dtmf_2833_${name}.pcap`);
}

export interface BuiltMedia {
  readonly pcap: string;
  /** The audio as sent, with silence where nothing was sent: what a perfect recording of the leg would hold. */
  readonly audio: Buffer;
  readonly durationMs: number;
  /** Sample offsets where each part starts, in `audio`. */
  readonly offsets: readonly number[];
  /** The event payloads sent (4 bytes each), to look for in stored data. */
  readonly eventPayloads: readonly Buffer[];
}

export function buildMedia(parts: readonly MediaPart[], dir = mkdtempSync(join(tmpdir(), 'recgw-media-'))): BuiltMedia {
  const packets: TimedPacket[] = [];
  const chunks: Buffer[] = [];
  const offsets: number[] = [];
  const eventPayloads: Buffer[] = [];
  const ssrc = 0x5eed0001;
  let seq = 1000;
  let ts = 0; // samples since the start of the stream
  const audio = (bytes: Buffer): void => {
    for (let o = 0; o + 160 <= bytes.length; o += 160) {
      packets.push({ timeUs: (ts / 8) * 1000, rtp: rtpPacket({ payloadType: 8, seq: seq++, timestamp: ts, ssrc, payload: bytes.subarray(o, o + 160) }) });
      ts += 160;
    }
    chunks.push(bytes.subarray(0, bytes.length - (bytes.length % 160)));
  };
  const nothing = (ms: number): void => {
    const n = ms * 8 - ((ms * 8) % 160);
    ts += n;
    chunks.push(Buffer.alloc(n, PCMA_SILENCE));
  };
  const speech = pcapAudio(G711A_PCAP).audio;
  for (const part of parts) {
    offsets.push(chunks.reduce((s, c) => s + c.length, 0));
    if (part.kind === 'speech') audio(speech);
    else if (part.kind === 'silence') audio(Buffer.alloc(part.ms * 8, PCMA_SILENCE));
    else if (part.kind === 'gap') nothing(part.ms);
    else if (part.kind === 'tones') {
      for (const key of part.digits) {
        audio(toneAudio(key, part.onMs, part.dbm0));
        audio(Buffer.alloc(part.offMs * 8, PCMA_SILENCE));
      }
    } else {
      for (const key of part.keys) {
        const events = readPcapUdp(eventPcap(key));
        const t0 = events[0]?.timeUs ?? 0;
        let last = 0;
        for (const e of events) {
          const payload = e.payload.subarray(12);
          eventPayloads.push(Buffer.from(payload));
          last = e.timeUs - t0;
          packets.push({ timeUs: (ts / 8) * 1000 + last, rtp: rtpPacket({ payloadType: 101, seq: seq++, timestamp: ts, ssrc, marker: e === events[0], payload }) });
        }
        // The key press lasts its final duration; no audio is sent meanwhile.
        const duration = events.at(-1)?.payload.readUInt16BE(14) ?? 0;
        const span = Math.max(duration, Math.ceil((last / 1000) * 8));
        nothing(Math.ceil(span / 8 / 20) * 20 + part.gapMs);
      }
    }
  }
  const pcap = join(dir, `media-${Math.random().toString(36).slice(2, 10)}.pcap`);
  writeRtpPcap(pcap, packets);
  const all = Buffer.concat(chunks);
  return { pcap, audio: all, durationMs: all.length / 8, offsets, eventPayloads };
}

/** A copy of a sip-test scenario that plays `pcap` instead of the sip-tester speech. */
export function scenarioPlaying(scenario: string, pcap: string, dir: string): string {
  const xml = readFileSync(join(import.meta.dirname, '../../sip-test', scenario), 'utf8');
  if (!xml.includes(G711A_PCAP)) throw new Error(`${scenario} plays no ${G711A_PCAP}`);
  const file = join(dir, scenario.replace(/\.xml$/, `-${Math.random().toString(36).slice(2, 8)}.xml`));
  writeFileSync(file, xml.replaceAll(G711A_PCAP, pcap));
  return file;
}
