/**
 * A voice of the test's own making, written as a pcap SIPp can play with
 * play_pcap_audio, and told apart byte for byte from the sip-tester speech
 * pcap wherever it ends up.
 */
import { linearToAlaw } from '../../src/media/g711.js';
import { rtpPacket, writeRtpPcap } from './pcap-writer.js';
import { prng } from './prng.js';

export interface RtpAudio {
  /** Each packet's payload, in order. */
  readonly packets: Buffer[];
  /** The payloads back to back. */
  readonly audio: Buffer;
}

/**
 * Seeded noise in G.711 A-law, `ms` long in 20 ms packets: every packet is
 * different and none is silence, and noise has none of the two-tone shape an
 * in-band DTMF detector looks for, so nothing of it is redacted as a digit.
 */
export function noiseAudio(opts: { seed: number; ms: number; amplitude?: number }): RtpAudio {
  const next = prng(opts.seed);
  const amplitude = opts.amplitude ?? 3000;
  const packets: Buffer[] = [];
  for (let p = 0; p < Math.round(opts.ms / 20); p++) {
    const payload = Buffer.alloc(160);
    for (let i = 0; i < payload.length; i++) payload[i] = linearToAlaw(Math.round((next() * 2 - 1) * amplitude));
    packets.push(payload);
  }
  return { packets, audio: Buffer.concat(packets) };
}

/** Writes `audio` as one RTP stream (payload type 8 unless told, 20 ms apart). */
export function writeAudioPcap(file: string, audio: RtpAudio, opts: { payloadType?: number; ssrc?: number } = {}): void {
  writeRtpPcap(
    file,
    audio.packets.map((payload, i) => ({
      timeUs: i * 20_000,
      rtp: rtpPacket({ payloadType: opts.payloadType ?? 8, seq: i, timestamp: i * payload.length, ssrc: opts.ssrc ?? 0x5eed0001, payload }),
    })),
  );
}
