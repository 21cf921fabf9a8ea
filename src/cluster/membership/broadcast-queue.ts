import type { MemberUpdate } from './types';

/**
 * How many times each update is piggybacked before it is dropped: ceil(mult * log2(n + 1)).
 * Epidemic spread reaches all n members with high probability after O(log n) rounds; the multiplier
 * buys margin against lost messages (memberlist's RetransmitMult). n = 3 gives 6, n = 100 gives 20.
 */
export function retransmitLimit(clusterSize: number, mult = 3): number {
  return Math.max(1, Math.ceil(mult * Math.log2(Math.max(1, clusterSize) + 1)));
}

interface Pending {
  update: MemberUpdate;
  transmits: number;
  /** Insertion order: among equally-sent updates the newest goes first. */
  seq: number;
}

/**
 * Membership updates waiting to be piggybacked on pings and acks (memberlist's TransmitLimitedQueue).
 * One pending update per member: news about a member supersedes older news about it, so a refutation
 * never travels behind the accusation it answers. take() prefers the least-sent, then the newest,
 * so fresh news is not starved by a cap per message.
 */
export class BroadcastQueue {
  readonly #pending = new Map<string, Pending>();
  readonly #priorityId: string | undefined;
  #seq = 0;

  /**
   * `priorityId` (our own id) always goes first: a refutation is the one update only we can send,
   * and a message filled with other news must not push it out while its accusation spreads.
   */
  constructor(priorityId?: string) {
    this.#priorityId = priorityId;
  }

  /** Queues `update`, replacing any pending update about the same member. */
  enqueue(update: MemberUpdate): void {
    this.#pending.set(update.id, { update: { ...update }, transmits: 0, seq: this.#seq++ });
  }

  /**
   * Up to `max` updates for one message: the priority member's, then least-sent, then newest first. Each counts as one transmit;
   * an update sent `limit` times is dropped. `exclude` skips members whose update the caller already
   * put in the message (they are neither returned nor charged).
   */
  take(max: number, limit: number, exclude: ReadonlySet<string> = new Set()): MemberUpdate[] {
    if (max <= 0) return [];
    const chosen = [...this.#pending.values()]
      .filter((p) => !exclude.has(p.update.id))
      .sort((a, b) => this.#rank(a) - this.#rank(b) || a.transmits - b.transmits || b.seq - a.seq)
      .slice(0, max);
    for (const p of chosen) {
      p.transmits += 1;
      if (p.transmits >= limit) this.#pending.delete(p.update.id);
    }
    return chosen.map((p) => ({ ...p.update }));
  }

  #rank(p: Pending): number {
    return p.update.id === this.#priorityId ? 0 : 1;
  }

  get size(): number {
    return this.#pending.size;
  }

  clear(): void {
    this.#pending.clear();
  }
}
