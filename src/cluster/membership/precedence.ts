import type { MemberState, MemberUpdate } from './types';

/**
 * The highest incarnation a suspect, dead or left update may carry. An alive update may carry one
 * more (MAX_INCARNATION + 1 = Number.MAX_SAFE_INTEGER): that is the refutation of an accusation made
 * at MAX_INCARNATION, so every accusation a node accepts can still be outbid, and no refutation ever
 * needs an incarnation that is not a safe integer (which applyUpdate refuses everywhere).
 *
 * Incarnations start at a node's wall clock in ms (about 1.7e12) and grow by one per refutation, so
 * real ones stay some 5e15 below this bound for as long as anyone will run this code: anything near
 * it was forged. The bound is that high because a lower one buys nothing: a member a forged update
 * pushes to the top still refutes, it just stays there.
 */
export const MAX_INCARNATION = Number.MAX_SAFE_INTEGER - 1;

/** The highest incarnation an update in `state` may carry (see MAX_INCARNATION). */
export function maxIncarnationOf(state: MemberState): number {
  return state === 'alive' ? MAX_INCARNATION + 1 : MAX_INCARNATION;
}

/** False for an update whose incarnation is not an integer from 0 to maxIncarnationOf(its state). */
export function incarnationInBounds(update: MemberUpdate): boolean {
  const i = update.incarnation;
  return Number.isSafeInteger(i) && i >= 0 && i <= maxIncarnationOf(update.state);
}

/** A member's state at an incarnation: what precedence compares. */
export interface MemberVersion {
  state: MemberState;
  incarnation: number;
}

/**
 * SWIM's precedence rules, as memberlist applies them (`aliveNode`, `suspectNode`, `deadNode`).
 * Only the member itself raises its incarnation (to refute), so a higher incarnation is newer news;
 * at an equal incarnation an accusation beats the alive it accuses.
 *
 * | update \ current | alive(j) | suspect(j) | dead(j) | left(j) | unknown |
 * | alive(i)         | i > j    | i > j      | i > j   | i > j   | accept  |
 * | suspect(i)       | i >= j   | i > j      | never   | never   | ignore  |
 * | dead(i)          | i >= j   | i >= j     | i > j   | never   | ignore  |
 * | left(i)          | i >= j   | i >= j     | i >= j  | i > j   | ignore  |
 *
 * Suspect never revives a dead member, and only alive lifts 'left' (a rejoin). Accusations about a
 * member we have never heard of are dropped: they cannot be checked and would add a ghost.
 * A same-state update with a higher incarnation is taken, so a stale alive cannot outbid it later.
 *
 * Returns the next version, or undefined when the update is stale, not allowed, or its incarnation is
 * out of bounds (incarnationInBounds): ignore it.
 */
export function applyUpdate(
  current: MemberVersion | undefined,
  update: MemberUpdate,
): MemberVersion | undefined {
  const next: MemberVersion = { state: update.state, incarnation: update.incarnation };
  if (!incarnationInBounds(update)) return undefined;
  if (current === undefined) return update.state === 'alive' ? next : undefined;
  const i = update.incarnation;
  const j = current.incarnation;
  switch (update.state) {
    case 'alive':
      return i > j ? next : undefined;
    case 'suspect':
      if (current.state === 'alive') return i >= j ? next : undefined;
      if (current.state === 'suspect') return i > j ? next : undefined;
      return undefined;
    case 'dead':
      if (current.state === 'alive' || current.state === 'suspect') return i >= j ? next : undefined;
      if (current.state === 'dead') return i > j ? next : undefined;
      return undefined;
    case 'left':
      if (current.state === 'left') return i > j ? next : undefined;
      return i >= j ? next : undefined;
  }
}

/**
 * The states each state may be entered from; the one transition function (membership.ts) refuses
 * anything else. Same-state entries are incarnation bumps. Derived from the table above.
 */
export const allowedFrom: Readonly<Record<MemberState, readonly MemberState[]>> = {
  alive: ['alive', 'suspect', 'dead', 'left'],
  suspect: ['alive', 'suspect'],
  dead: ['alive', 'suspect', 'dead'],
  left: ['alive', 'suspect', 'dead', 'left'],
};

/**
 * True when an update about ourselves is an accusation we must refute (we are up and not leaving).
 * One out of bounds is not: every other member ignores it too.
 */
export function needsRefutation(update: MemberUpdate, ownIncarnation: number, leaving: boolean): boolean {
  if (!incarnationInBounds(update)) return false;
  if (update.state === 'alive') return update.incarnation > ownIncarnation;
  if (update.state === 'left') return !leaving;
  return true;
}

/**
 * The incarnation we answer an accusation with, in `state` (alive, or left while leaving): one above
 * both ours and the accuser's, capped at what `state` may carry. Under the cap it outbids anything;
 * at the cap it still does, because accusations stop one below it (MAX_INCARNATION):
 * alive(MAX_INCARNATION + 1) beats suspect or dead at MAX_INCARNATION, and left(MAX_INCARNATION)
 * beats them too (an accusation never beats left at an equal incarnation).
 */
export function refutingIncarnation(
  ownIncarnation: number,
  accusedIncarnation: number,
  state: 'alive' | 'left' = 'alive',
): number {
  return Math.min(Math.max(ownIncarnation, accusedIncarnation) + 1, maxIncarnationOf(state));
}
