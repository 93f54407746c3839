/**
 * The relay benches' media legs: each call a caller and an agent leg on
 * loopback, bridged, in the order the far ends pair them (rtp-peers.ts).
 */
import { bridge, MediaLeg } from '../src/media/leg.js';
import type { PortAllocator } from '../src/media/ports.js';

/** One call's two legs, caller first, bridged to each other. */
export async function bridgedCall(allocator: PortAllocator): Promise<readonly [MediaLeg, MediaLeg]> {
  const caller = await MediaLeg.open(allocator, { name: 'caller', address: '127.0.0.1' });
  const agent = await MediaLeg.open(allocator, { name: 'agent', address: '127.0.0.1' });
  bridge(caller, agent);
  return [caller, agent];
}

/** Points leg i at far end i. */
export function aimLegs(legs: readonly MediaLeg[], peers: readonly number[]): void {
  legs.forEach((leg, i) => leg.setRemote({ address: '127.0.0.1', port: peers[i] ?? 0 }));
}
