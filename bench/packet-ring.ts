/**
 * A ring of RTP packets in shared memory, written by the relaying thread and
 * read by a recorder thread: one writer, one reader, no lock. Each slot holds
 * a packet whole, with the numbers its tap was given. The writer publishes its
 * count after each packet and the reader its own after each drain, so a slot
 * is written again only once the reader is done with it.
 */
import type { RtpView } from '../src/media/rtp.js';

/** A power of two: 32768 slots hold 0.65 s of 500 calls' packets, where the reader drains every 100 ms. */
const SLOTS = 1 << 15;
const MASK = SLOTS - 1;
/** A 20 ms G.711 packet is 172 bytes; anything longer than a slot is not recorded, and counted. */
const SLOT_BYTES = 256;
/** Per slot: leg, payload offset, payload length, payload type, timestamp, SSRC (u32 each), arrival (f64 at byte 24). */
const FIELDS_BYTES = 32;
/** The two counts, each on its own cache line so neither thread's writes evict the other's. */
const WRITTEN = 0;
const READ = 16;
const CONTROL_BYTES = 128;

/** Takes one packet from the ring: `bytes` is the ring's own memory, valid only until `take` returns. */
export type PacketTaker = (leg: number, bytes: Buffer, payloadOffset: number, payloadLength: number, payloadType: number, timestamp: number, ssrc: number, arrivalMs: number) => void;

export class PacketRing {
  static readonly bytes = CONTROL_BYTES + SLOTS * SLOT_BYTES;

  private readonly control: Int32Array;
  private readonly data: Buffer;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  /** This side's own count: the writer's on the relaying thread, the reader's on the recorder's. */
  private count = 0;
  /** Packets the writer could not take (ring full, or longer than a slot). */
  dropped = 0;

  constructor(readonly shared: SharedArrayBuffer) {
    if (shared.byteLength !== PacketRing.bytes) throw new RangeError(`PacketRing: ${shared.byteLength} bytes, not ${PacketRing.bytes}`);
    this.control = new Int32Array(shared, 0, CONTROL_BYTES / 4);
    this.data = Buffer.from(shared, CONTROL_BYTES);
    this.u32 = new Uint32Array(shared, CONTROL_BYTES);
    this.f64 = new Float64Array(shared, CONTROL_BYTES);
  }

  /** Writer side, once per packet: allocates nothing. False when the packet was not taken. */
  push(leg: number, packet: Buffer, view: RtpView, arrivalMs: number): boolean {
    const w = this.count;
    // Counts are int32 and wrap; their difference stays right as long as the ring is smaller than 2^31.
    if (((w - Atomics.load(this.control, READ)) | 0) >= SLOTS || packet.length > SLOT_BYTES - FIELDS_BYTES) {
      this.dropped++;
      return false;
    }
    const slot = w & MASK;
    const fields = slot * (SLOT_BYTES / 4);
    const u32 = this.u32;
    u32[fields] = leg;
    u32[fields + 1] = view.payloadOffset;
    u32[fields + 2] = view.payloadLength;
    u32[fields + 3] = view.payloadType;
    u32[fields + 4] = view.timestamp;
    u32[fields + 5] = view.ssrc;
    this.f64[slot * (SLOT_BYTES / 8) + 3] = arrivalMs;
    // The whole packet from its start: Node 20's Buffer.copy makes a view for a partial copy, a whole one it copies as is.
    packet.copy(this.data, slot * SLOT_BYTES + FIELDS_BYTES);
    this.count = (w + 1) | 0;
    Atomics.store(this.control, WRITTEN, this.count);
    return true;
  }

  /** Reader side: hands every packet written since the last drain to `take`, oldest first, then frees their slots. */
  drain(take: PacketTaker): number {
    const written = Atomics.load(this.control, WRITTEN);
    const u32 = this.u32;
    let n = 0;
    for (let r = this.count; r !== written; r = (r + 1) | 0, n++) {
      const slot = r & MASK;
      const fields = slot * (SLOT_BYTES / 4);
      const at = slot * SLOT_BYTES + FIELDS_BYTES;
      take(u32[fields] as number, this.data, at + (u32[fields + 1] as number), u32[fields + 2] as number, u32[fields + 3] as number, u32[fields + 4] as number, u32[fields + 5] as number, this.f64[slot * (SLOT_BYTES / 8) + 3] as number);
    }
    this.count = written;
    Atomics.store(this.control, READ, written);
    return n;
  }
}
