/**
 * Paced playback of G.711 audio into a media leg: one 20 ms packet per tick,
 * as a phone would send it.
 *
 * All players share one Pacer, so a hundred announcements cost one timer, not
 * a hundred. Node's timers fire late, never early, and by a varying amount;
 * the pacer keeps its own schedule against the monotonic clock and sends the
 * packets a late tick owes, but at most a few at once: a receiver's jitter
 * buffer absorbs a short burst, not a long one. After a longer stall it drops
 * the lag and carries on from now.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PCMA_SILENCE, PCMU_SILENCE } from './g711.js';
import type { MediaLeg } from './leg.js';
import { RTP_HEADER_LENGTH, writeRtpHeader } from './rtp.js';

export const FRAME_MS = 20;
/** Samples, and so G.711 bytes, per 20 ms frame at 8 kHz. */
export const FRAME_BYTES = 160;
const MAX_BURST = 3;

/** Something the pacer drives: sends `packets` packets, returns false once it has finished. */
interface Paced {
  tick(packets: number): boolean;
}

export class Pacer {
  private readonly players = new Set<Paced>();
  private timer: NodeJS.Timeout | null = null;
  /** Monotonic time (ms) the next tick is due. */
  private due = 0;
  private readonly intervalMs: number;
  private readonly maxBurst: number;

  constructor(opts: { intervalMs?: number; maxBurst?: number } = {}) {
    this.intervalMs = opts.intervalMs ?? FRAME_MS;
    this.maxBurst = opts.maxBurst ?? MAX_BURST;
  }

  /** Players currently paced. */
  get active(): number {
    return this.players.size;
  }

  /** True while the shared timer runs (only while some player is active). */
  get running(): boolean {
    return this.timer !== null;
  }

  /** @internal used by play() */
  add(player: Paced): void {
    this.players.add(player);
    if (this.timer === null) {
      this.due = performance.now() + this.intervalMs;
      this.timer = setTimeout(this.onTimer, this.intervalMs);
    }
  }

  /** @internal used by play() */
  remove(player: Paced): void {
    this.players.delete(player);
    if (this.players.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = performance.now();
    // A timer may fire a fraction of a millisecond early (its clock rounds to whole ms): still one tick.
    const owed = Math.max(1, Math.floor((now - this.due) / this.intervalMs) + 1);
    let packets = owed;
    if (owed > this.maxBurst) {
      packets = this.maxBurst;
      this.due = now + this.intervalMs;
    } else {
      this.due += owed * this.intervalMs;
    }
    for (const p of this.players) {
      if (!p.tick(packets)) this.players.delete(p);
    }
    if (this.players.size > 0) this.timer = setTimeout(this.onTimer, Math.max(0, this.due - performance.now()));
  };
}

const defaultPacer = new Pacer();

export interface PlayOptions {
  readonly payloadType: 0 | 8;
  readonly signal?: AbortSignal;
  /** Shared by every call of a gateway; a process-wide one when absent. */
  readonly pacer?: Pacer;
}

export type PlayOutcome = 'done' | 'aborted';

/**
 * Plays `audio` (G.711 of the law `payloadType` names) into `leg` as 160-byte
 * payloads every 20 ms, a fresh random SSRC, sequence and timestamp, the
 * marker on the first packet, the last frame padded with silence. Resolves
 * 'done' once the last packet is out, 'aborted' when the signal fires or the
 * leg closes first.
 */
export function play(leg: MediaLeg, audio: Buffer, opts: PlayOptions): Promise<PlayOutcome> {
  const { signal } = opts;
  if (signal?.aborted === true) return Promise.resolve('aborted');
  if (audio.length === 0) return Promise.resolve('done');
  const pacer = opts.pacer ?? defaultPacer;
  return new Promise((resolve) => {
    const player = new Player(leg, audio, opts.payloadType, (outcome) => {
      pacer.remove(player);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    });
    const onAbort = (): void => player.finish('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    pacer.add(player);
  });
}

class Player implements Paced {
  /**
   * Packets are built in a small ring rather than one buffer: a late tick
   * sends up to MAX_BURST packets at once, and a datagram the kernel could
   * not take at once stays queued with its buffer, which must not be
   * overwritten by the next packet before it leaves.
   */
  private readonly ring: Buffer[];
  private slot = 0;
  private offset = 0;
  /** Mutated in place for each packet. */
  private readonly header = { marker: true, payloadType: 0, sequence: randomInt(0x10000), timestamp: randomInt(0x100000000), ssrc: randomInt(0x100000000) };
  private finished = false;
  private readonly silence: number;

  constructor(
    private readonly leg: MediaLeg,
    private readonly audio: Buffer,
    payloadType: 0 | 8,
    private readonly onFinish: (outcome: PlayOutcome) => void,
  ) {
    this.silence = payloadType === 0 ? PCMU_SILENCE : PCMA_SILENCE;
    this.header.payloadType = payloadType;
    this.ring = Array.from({ length: MAX_BURST + 1 }, () => Buffer.alloc(RTP_HEADER_LENGTH + FRAME_BYTES));
  }

  tick(packets: number): boolean {
    for (let i = 0; i < packets && !this.finished; i++) {
      if (this.leg.isClosed) {
        this.finish('aborted');
        break;
      }
      this.sendFrame();
      if (this.offset >= this.audio.length) this.finish('done');
    }
    return !this.finished;
  }

  finish(outcome: PlayOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.onFinish(outcome);
  }

  private sendFrame(): void {
    const packet = this.ring[this.slot] as Buffer;
    this.slot = (this.slot + 1) % this.ring.length;
    const h = this.header;
    writeRtpHeader(packet, h);
    const end = Math.min(this.offset + FRAME_BYTES, this.audio.length);
    const copied = this.audio.copy(packet, RTP_HEADER_LENGTH, this.offset, end);
    if (copied < FRAME_BYTES) packet.fill(this.silence, RTP_HEADER_LENGTH + copied);
    this.leg.send(packet);
    this.offset = end;
    h.marker = false;
    h.sequence = (h.sequence + 1) & 0xffff;
    h.timestamp = (h.timestamp + FRAME_BYTES) >>> 0;
  }
}
