import type { MemberState, MemberUpdate } from './types';

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
 * Returns the next version, or undefined when the update is stale or not allowed (ignore it).
 */
export function applyUpdate(
  current: MemberVersion | undefined,
  update: MemberUpdate,
): MemberVersion | undefined {
  const next: MemberVersion = { state: update.state, incarnation: update.incarnation };
  if (!Number.isSafeInteger(update.incarnation) || update.incarnation < 0) return undefined;
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

/** True when an update about ourselves is an accusation we must refute (we are up and not leaving). */
export function needsRefutation(update: MemberUpdate, ownIncarnation: number, leaving: boolean): boolean {
  if (update.state === 'alive') return update.incarnation > ownIncarnation;
  if (update.state === 'left') return !leaving;
  return true;
}

/** The incarnation that outbids an accusation: strictly above both ours and the accuser's. */
export function refutingIncarnation(ownIncarnation: number, accusedIncarnation: number): number {
  return Math.max(ownIncarnation, accusedIncarnation) + 1;
}
