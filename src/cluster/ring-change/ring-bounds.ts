import { RingCacheError } from '../../errors';
import { cut } from '../../store/validation';
import type { RingState } from './topology';

/**
 * The highest ring epoch a node takes from a peer. Epochs start at 1 (cluster.yml) and grow by one
 * per join, leave or merge, each a round trip to a majority of the ring: at a thousand changes a
 * second, 2^32 takes over a century. Anything above was forged, and taking it would leave no room
 * for the next change's epoch + 1 within safe integers.
 */
export const MAX_RING_EPOCH = 2 ** 32;

/** True for an epoch a peer may name: a whole number from 0 (not sent, in pings) to MAX_RING_EPOCH. */
export function ringEpochInBounds(epoch: number): boolean {
  return Number.isSafeInteger(epoch) && epoch >= 0 && epoch <= MAX_RING_EPOCH;
}

/**
 * Why a peer's ring cannot be taken, or undefined when it can: its epoch must be from 1 to
 * MAX_RING_EPOCH, and each member's or departure's `since` from 1 to that epoch (every ring a node
 * makes has them so: a change stamps its own epoch, a merge takes one past both rings).
 */
export function ringStateProblem(ring: RingState): string | undefined {
  if (!ringEpochInBounds(ring.epoch) || ring.epoch < 1)
    return `ring epoch must be an integer from 1 to ${MAX_RING_EPOCH}`;
  for (const entry of [...ring.members, ...ring.departed]) {
    if (!Number.isSafeInteger(entry.since) || entry.since < 1 || entry.since > ring.epoch)
      return `ring member ${cut(String(entry.id))}: since must be an integer from 1 to the ring's epoch`;
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT for a ring ringStateProblem refuses. */
export function checkRingState(ring: RingState): void {
  const problem = ringStateProblem(ring);
  if (problem) throw new RingCacheError('INVALID_ARGUMENT', problem);
}
