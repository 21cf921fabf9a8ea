import type { Scheduler } from '../membership/types';

export interface RingContactOptions {
  scheduler: Scheduler;
  /**
   * How long this node may hear no peer's ring and still take its own for current: the time its
   * peers take to suspect a silent member and declare it dead (probe interval, probe timeout,
   * suspicion timeout).
   */
  limitMs: number;
  /** Whether some other member of the ring is alive or suspect in this node's view. */
  peerAlive(): boolean;
}

/**
 * Whether this node's ring may be behind the cluster's. Ring changes are ordered by any member and
 * spread by gossip, so a node that heard from no peer for a while (cut off, paused, starved of CPU)
 * may have missed one: meanwhile its peers took it for dead, a join or leave moved its keys to other
 * replicas, and writes were acknowledged there. Answering from its own copy on its old ring, it would
 * return a value older than one acknowledged at W + R > N.
 *
 * So once it has heard no peer's ring for `limitMs`, its own copy counts in no quorum (a read's
 * answers, a prepare's votes, a write's acknowledgements) until a peer's ring is found equal to its
 * own, or the newer one is adopted: the peers it asks answer with their ring, and a newer one is
 * fetched and the call run again on it. In a healthy cluster every probe's answer confirms the ring,
 * several times per limit. A node that takes every peer for dead (the last one standing, or one cut
 * off from all) still answers from its own copy: there is no one else to ask.
 *
 * Costs one clock read per operation that would count its own copy; nothing else on the data path.
 */
export class RingContact {
  readonly #opts: RingContactOptions;
  #confirmedAtMs: number;

  constructor(opts: RingContactOptions) {
    this.#opts = opts;
    this.#confirmedAtMs = opts.scheduler.now();
  }

  /** A peer holds this node's ring (same epoch and digest), or this node just adopted the peer's. */
  confirm(): void {
    this.#confirmedAtMs = this.#opts.scheduler.now();
  }

  /** True while this node's own copy must not count: no peer's ring heard for the limit, and some peer is alive. */
  get unconfirmed(): boolean {
    if (this.#opts.scheduler.now() - this.#confirmedAtMs <= this.#opts.limitMs) return false;
    return this.#opts.peerAlive();
  }
}
