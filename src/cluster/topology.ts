import type { NodeConfig } from '../config/types';
import type { Logger } from '../observability/logger';
import { Ring } from '../ring/ring';
import type { MemberState } from './membership/types';

export interface MemberView {
  id: string;
  address: string;
  http: string;
  state: MemberState;
  incarnation: number;
}

export interface TopologySnapshot {
  epoch: number;
  members: MemberView[];
}

/**
 * This node's view of the cluster: the members of the ring (explicit, from cluster.yml), the state
 * failure detection gives each, the ring of the current epoch, and listeners for changes. A member
 * that fails stays on the ring (DESIGN.md: failures are skipped, not re-sharded), so a state change
 * notifies watchers without changing the epoch; only ring membership changes raise it.
 */
export class Topology {
  #members = new Map<string, MemberView>();
  readonly #vnodes: number;
  #ring: Ring;
  #epoch: number;
  /** Rings adopted so far: unlike the epoch, it changes even when a concurrent change replaces a ring of the same epoch. */
  #generation = 0;
  readonly #listeners = new Set<(t: TopologySnapshot) => void>();
  readonly #log: Logger;

  constructor(nodes: readonly NodeConfig[], vnodes: number, logger: Logger) {
    for (const n of nodes)
      this.#members.set(n.id, { id: n.id, address: n.address, http: n.http, state: 'alive', incarnation: 0 });
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

  member(id: string): MemberView | undefined {
    return this.#members.get(id);
  }

  snapshot(): TopologySnapshot {
    return { epoch: this.#epoch, members: [...this.#members.values()].map((m) => ({ ...m })) };
  }

  /** Alive or suspect: a suspect may still be alive, so it keeps its traffic until declared dead. */
  isAlive(id: string): boolean {
    const state = this.#members.get(id)?.state;
    return state === 'alive' || state === 'suspect';
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
    const next = new Map<string, MemberView>();
    for (const m of members) {
      const held = this.#members.get(m.id);
      next.set(m.id, {
        id: m.id,
        address: m.address,
        http: m.http,
        state: held?.state ?? 'alive',
        incarnation: held?.incarnation ?? 0,
      });
    }
    this.#members = next;
    this.#ring = new Ring([...next.keys()], { vnodes: this.#vnodes });
    this.#epoch = epoch;
    this.#generation++;
    this.#log.info({ epoch, members: [...next.keys()] }, 'ring changed');
    this.#notify();
    return previous;
  }

  /** Records a member's state as failure detection reports it. */
  setState(id: string, state: MemberState, incarnation: number): void {
    const m = this.#members.get(id);
    if (!m || (m.state === state && m.incarnation === incarnation)) return;
    const from = m.state;
    m.state = state;
    m.incarnation = incarnation;
    if (from !== state) this.#log.info({ member: id, from, to: state, incarnation }, 'member state changed');
    this.#notify();
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
