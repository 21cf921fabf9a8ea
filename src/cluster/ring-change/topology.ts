import type { Logger } from '../../observability/logger';
import { Ring } from '../../ring/ring';
import type { MemberState } from '../membership/types';

/** A member of the ring: explicit, from cluster.yml or a join. */
export interface RingMember {
  id: string;
  address: string;
  http: string;
}

/** A ring as nodes exchange it: its epoch and members. */
export interface RingState {
  epoch: number;
  members: RingMember[];
}

/** A ring member with the state failure detection gives it. */
export interface MemberView extends RingMember {
  state: MemberState;
  incarnation: number;
}

export interface TopologySnapshot {
  epoch: number;
  members: MemberView[];
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
  #members = new Map<string, RingMember>();
  readonly #liveness: Liveness;
  readonly #vnodes: number;
  #ring: Ring;
  #epoch: number;
  /** Rings adopted so far: unlike the epoch, it changes even when a concurrent change replaces a ring of the same epoch. */
  #generation = 0;
  readonly #listeners = new Set<(t: TopologySnapshot) => void>();
  readonly #log: Logger;

  constructor(nodes: readonly RingMember[], vnodes: number, liveness: Liveness, logger: Logger) {
    for (const n of nodes) this.#members.set(n.id, { id: n.id, address: n.address, http: n.http });
    this.#liveness = liveness;
    this.#vnodes = vnodes;
    this.#ring = new Ring([...this.#members.keys()], { vnodes });
    this.#epoch = 1;
    this.#log = logger;
  }

  get ring(): Ring {
    return this.#ring;
  }

  get epoch(): number {
    return this.#epoch;
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
    return { epoch: this.#epoch, members: [...this.#members.values()].map((m) => this.#withState(m)) };
  }

  /** The ring's state as nodes exchange it (Peer.ApplyRing). */
  state(): RingState {
    return { epoch: this.#epoch, members: [...this.#members.values()].map((m) => ({ ...m })) };
  }

  #withState(m: RingMember): MemberView {
    const live = this.#liveness.member(m.id);
    return { ...m, state: live?.state ?? 'alive', incarnation: live?.incarnation ?? 0 };
  }

  /**
   * Adopts the ring of a newer epoch (a join or a leave). Members that stay keep their state; new ones
   * start alive. Returns the previous ring, or undefined when nothing changes.
   *
   * Two changes ordered at different members at once both claim the next epoch. Every node then keeps
   * the same one of the two (the members listing that sorts last wins a tie), so the cluster agrees;
   * the node that ordered the other sees its change lost and orders it again on top (RingChanges).
   */
  adopt(epoch: number, members: readonly { id: string; address: string; http: string }[]): Ring | undefined {
    // (ids are unique: the node that ordered the change checked them)
    if (members.length === 0 || epoch < this.#epoch) return undefined;
    // Epoch 1 is each node's cluster.yml (a joining node's includes itself): never a tie to break.
    if (epoch === this.#epoch && (epoch <= 1 || listing(members) <= listing([...this.#members.values()])))
      return undefined;
    const previous = this.#ring;
    const next = new Map<string, RingMember>();
    for (const m of members) next.set(m.id, { id: m.id, address: m.address, http: m.http });
    this.#members = next;
    this.#ring = new Ring([...next.keys()], { vnodes: this.#vnodes });
    this.#epoch = epoch;
    this.#generation++;
    this.#log.info({ epoch, members: [...next.keys()] }, 'ring changed');
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

/** A ring's members in one comparable string, order-independent: the tie-break between equal epochs. */
function listing(members: readonly { id: string; address: string; http: string }[]): string {
  return members
    .map((m) => `${m.id} ${m.address} ${m.http}`)
    .sort()
    .join('\n');
}
