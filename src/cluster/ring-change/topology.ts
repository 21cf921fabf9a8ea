import type { Logger } from '../../observability/logger';
import { Ring } from '../../ring/ring';
import {
  digestOf,
  initialRing,
  mergeRings,
  relationOf,
  type RingDeparture,
  type RingEntry,
  type RingMember,
  type RingState,
} from '../../ring/ring-state';
import type { MemberState } from '../membership/types';

export type { RingMember, RingState } from '../../ring/ring-state';

/** A ring member with the state failure detection gives it. */
export interface MemberView extends RingEntry {
  state: MemberState;
  incarnation: number;
}

export interface TopologySnapshot {
  epoch: number;
  members: MemberView[];
  departed: RingDeparture[];
}

/** Where member states come from: membership (SWIM), the one source of liveness. */
export interface Liveness {
  /** Undefined for a member gossip has not heard of yet (it is taken as alive). */
  member(id: string): { state: MemberState; incarnation: number } | undefined;
}

/**
 * This node's view of the cluster: the members of the ring (explicit, from cluster.yml), the ring of
 * the current epoch, and listeners for changes. Member states are read from membership, never copied:
 * a member that fails stays on the ring (DESIGN.md: failures are skipped, not re-sharded), so a state
 * change (`membersChanged()`) notifies watchers without changing the epoch; only ring membership
 * changes raise it.
 */
export class Topology {
  /** The one source of the ring's membership: members, departures and the epoch. */
  #state: RingState;
  #members = new Map<string, RingMember>();
  #digest: number;
  readonly #liveness: Liveness;
  readonly #vnodes: number;
  #ring: Ring;
  /** Rings adopted so far (for rebalances to tell whether theirs is still the current one). */
  #generation = 0;
  readonly #listeners = new Set<(t: TopologySnapshot) => void>();
  readonly #log: Logger;

  constructor(nodes: readonly RingMember[], vnodes: number, liveness: Liveness, logger: Logger) {
    this.#state = initialRing(nodes);
    for (const n of nodes) this.#members.set(n.id, { id: n.id, address: n.address, http: n.http });
    this.#digest = digestOf(this.#state);
    this.#liveness = liveness;
    this.#vnodes = vnodes;
    this.#ring = new Ring([...this.#members.keys()], { vnodes });
    this.#log = logger;
  }

  get ring(): Ring {
    return this.#ring;
  }

  get epoch(): number {
    return this.#state.epoch;
  }

  /** The ring's digest (ring-state.ts), which gossip carries next to the epoch. */
  get digest(): number {
    return this.#digest;
  }

  get generation(): number {
    return this.#generation;
  }

  get vnodes(): number {
    return this.#vnodes;
  }

  member(id: string): RingMember | undefined {
    return this.#members.get(id);
  }

  snapshot(): TopologySnapshot {
    return {
      epoch: this.epoch,
      members: this.#state.members.map((m) => this.#withState(m)),
      departed: this.#state.departed.map((d) => ({ ...d })),
    };
  }

  /** The ring's state as nodes exchange it (Peer.ApplyRing). */
  state(): RingState {
    const s = this.#state;
    return {
      epoch: s.epoch,
      members: s.members.map((m) => ({ ...m })),
      departed: s.departed.map((d) => ({ ...d })),
    };
  }

  #withState(m: RingEntry): MemberView {
    const live = this.#liveness.member(m.id);
    return { ...m, state: live?.state ?? 'alive', incarnation: live?.incarnation ?? 0 };
  }

  /**
   * Takes in a ring another node (or this one) made: adopted when it is newer than the one held,
   * merged with it when the two are concurrent (changed on both sides of a partition, or two changes
   * ordered at once; ring-state.ts), ignored when older or the same. Members that stay keep their
   * state; new ones start alive. Returns the previous ring, or undefined when nothing changes.
   */
  adopt(received: RingState): Ring | undefined {
    if (received.members.length === 0) return undefined;
    const relation = relationOf(this.#state, received);
    if (relation === 'same' || relation === 'older') return undefined;
    const next = relation === 'newer' ? received : mergeRings(this.#state, received);
    if (next.members.length === 0) return undefined;
    const previous = this.#ring;
    this.#state = {
      epoch: next.epoch,
      members: next.members.map((m) => ({ ...m })),
      departed: next.departed.map((d) => ({ ...d })),
    };
    this.#digest = digestOf(this.#state);
    this.#members = new Map(next.members.map((m) => [m.id, { id: m.id, address: m.address, http: m.http }]));
    this.#ring = new Ring([...this.#members.keys()], { vnodes: this.#vnodes });
    this.#generation++;
    this.#log.info(
      { epoch: next.epoch, members: [...this.#members.keys()], merged: relation === 'concurrent' },
      'ring changed',
    );
    this.#notify();
    return previous;
  }

  /** Membership changed a member's state or incarnation: tell the watchers. */
  membersChanged(id: string): void {
    if (this.#members.has(id)) this.#notify();
  }

  onChange(listener: (t: TopologySnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    const snap = this.snapshot();
    for (const l of this.#listeners) l(snap);
  }
}
