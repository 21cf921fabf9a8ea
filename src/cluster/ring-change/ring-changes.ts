import { RingCacheError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { Store } from '../../store/store';
import type { Ring } from '../../ring/ring';
import type { BackgroundTasks } from '../background-tasks';
import type { ClusterView } from '../cluster-view';
import { changedRing, relationOf } from '../../ring/ring-state';
import { askReplica } from '../replication/ask-replica';
import { majority } from '../replication/quorum';
import { rebalance, type RebalanceProgress } from './rebalance';
import { ringStateProblem } from './ring-bounds';
import type { RingContact } from './ring-contact';
import type { RingMember, RingState, Topology } from './topology';
import type { RecordCopies } from '../replication/record-copies';

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

/** Times a join or leave is ordered again after losing to a concurrent change, before giving up. */
const MAX_ATTEMPTS = 5;
/** How long a ring change waits for the answers to its proposal. */
const PROPOSE_TIMEOUT_MS = 3000;
/** How long one sending of an adopted ring waits for each member's answer. */
const ORDER_TIMEOUT_MS = 3000;
/**
 * Sendings of an adopted ring to the members that did not answer, while fewer than a majority did.
 * Sending it again is harmless (a member adopts a ring once), and a member busy for one timeout
 * (a loaded machine: a leave once failed "reached only 1 of 4" with every peer up) often answers
 * the next; gossip spreads the epoch anyway, but the caller is told only what was acknowledged.
 */
const ORDER_ROUNDS = 3;

/**
 * Explicit ring membership (DESIGN.md "Elasticity"): a join or a leave makes a new epoch, which the
 * node that ordered it sends to every member; members that miss it learn the epoch (and the ring's
 * digest) from pings and exchange rings. Adopting a newer ring starts a rebalance that streams
 * records to their new replicas.
 *
 * What a change needs, so that the minority side of a partition cannot reshape the
 * ring (its quorums would then be counted on another ring than the majority's, and W + R > N
 * would no longer make reads see writes):
 * 1. a majority of the current ring not dead in failure detection's view (this node included
 *    if it is a member; a node that left may order a change, but counts toward no majority):
 *    a fast refusal on the minority side; a suspect member counts, since a busy node is often
 *    suspected for a moment and still answers the proposal, which is what decides;
 * 2. a majority answering the proposal (Peer.ProposeRing) with a ring no newer than this node's;
 *    nothing is adopted before that, and a newer or concurrent ring in an answer is taken in first
 *    and the change made on top of it;
 * 3. then it is adopted here and sent to every member; the call succeeds once a majority of the
 *    current ring has it. A change that reached fewer (a split between 2 and 3) is answered
 *    UNAVAILABLE, its outcome unknown: it holds on this side and merges with the rest at the heal.
 * Rings changed apart merge (ring-state.ts), so no change is undone by a heal.
 */
export class RingChanges {
  readonly #topology: Topology;
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #copies: RecordCopies;
  readonly #factor: number;
  readonly #log: Logger;
  readonly #onAdopted: (members: RingMember[], before: Ring) => void;
  readonly #tasks: BackgroundTasks;
  readonly #copyAgeLimitMs: number | undefined;
  #fetching: Promise<void> | undefined;
  /** Exchanges started because a replica answered on a newer ring (fetchFrom), by peer. */
  readonly #fetchingFrom = new Map<string, Promise<void>>();
  readonly #contact: RingContact | undefined;
  /** The latest rebalance, for metrics and tests. */
  progress: RebalanceProgress | undefined;

  constructor(opts: {
    topology: Topology;
    view: ClusterView;
    store: Store;
    /** How a rebalance's copies carry their requests. */
    copies: RecordCopies;
    factor: number;
    /** Release never sends a copy older than this to a replica that lacks it (release.ts copyAgeLimitOf). */
    copyAgeLimitMs?: number;
    logger: Logger;
    /** Where rebalances run: the node's stop() aborts and awaits them. */
    tasks: BackgroundTasks;
    /** Called with the new members once a ring is adopted (gossip probes them from then on). */
    onAdopted: (members: RingMember[], before: Ring) => void;
    /** Told each time a peer's ring is found equal to this node's. */
    contact?: RingContact;
  }) {
    this.#topology = opts.topology;
    this.#view = opts.view;
    this.#store = opts.store;
    this.#copies = opts.copies;
    this.#factor = opts.factor;
    this.#log = opts.logger;
    this.#onAdopted = opts.onAdopted;
    this.#tasks = opts.tasks;
    this.#copyAgeLimitMs = opts.copyAgeLimitMs;
    this.#contact = opts.contact;
  }

  state(): RingState {
    return this.#topology.state();
  }

  /** Adopts `state` when newer than ours, or merges it when concurrent, and rebalances; false when nothing changed. */
  apply(state: RingState): boolean {
    // Rings come from peers (ApplyRing, answers to our own calls): one with absurd epochs changes nothing.
    if (ringStateProblem(state) !== undefined) return false;
    const before = this.#topology.adopt(state);
    if (!before) return false;
    const now = this.#topology.state();
    this.#onAdopted(
      now.members.map((m) => ({ id: m.id, address: m.address, http: m.http })),
      before,
    );
    const epoch = now.epoch;
    const generation = this.#topology.generation;
    const progress: RebalanceProgress = { epoch, scanned: 0, sent: 0, failed: 0, released: 0, done: false };
    this.progress = progress;
    const after = this.#topology.ring;
    this.#tasks.run(`rebalance to epoch ${epoch}`, (signal) =>
      rebalance({
        epoch,
        before,
        after,
        factor: this.#factor,
        view: this.#view,
        store: this.#store,
        copies: this.#copies,
        logger: this.#log,
        // Not the epoch: a concurrent change can replace this ring by another of the same epoch.
        isCurrent: () => !signal.aborted && this.#topology.generation === generation,
        progress,
        copyAgeLimitMs: this.#copyAgeLimitMs,
        signal,
      }),
    );
    return true;
  }

  /**
   * A peer's ping named its ring: a newer epoch, or the same epoch with another digest (a ring
   * changed on the other side of a partition), is exchanged for ours, and both sides merge (one
   * exchange at a time). Digest 0: a peer that does not send one.
   */
  onRingSeen(peer: string, epoch: number, digest: number): void {
    const t = this.#topology;
    const differs =
      epoch > t.epoch || (epoch === t.epoch && epoch > 1 && digest !== 0 && digest !== t.digest);
    // Confirmed by the same ring only: at epoch 1 a joining node's first ring (its cluster.yml and
    // itself) differs from the members' without being newer.
    if (epoch === t.epoch && (digest === 0 || digest === t.digest)) this.#contact?.confirm();
    if (!differs || this.#fetching) return;
    this.#fetching = this.#exchange(peer).finally(() => (this.#fetching = undefined));
  }

  /**
   * A peer answered a replica call holding ring `epoch` (replication/, NewerRing): the same exchange
   * as onRingSeen, awaited. Resolves once it ended, or at once when this node holds `epoch` already.
   */
  fetchFrom(peer: string, epoch: number): Promise<void> {
    if (epoch <= this.#topology.epoch) return Promise.resolve();
    // One exchange per peer at a time; not held up by gossip's, which may wait on an unreachable one.
    let fetching = this.#fetchingFrom.get(peer);
    if (!fetching) {
      fetching = this.#exchange(peer).finally(() => this.#fetchingFrom.delete(peer));
      this.#fetchingFrom.set(peer, fetching);
    }
    return fetching;
  }

  /** Offers our ring to `peer` and takes in its answer (newer: adopted; concurrent: merged). */
  #exchange(peer: string): Promise<void> {
    return this.#view.transport
      .applyRing(peer, this.state(), 2000)
      .then((state) => {
        this.apply(state);
        // Ours now holds the peer's (adopted or merged): a peer that answered confirms it.
        this.#contact?.confirm();
      })
      .catch((err: unknown) => this.#log.warn({ err, peer }, 'could not exchange rings'));
  }

  /** Adds a member: a new epoch, adopted here and sent to every member. */
  async join(member: RingMember): Promise<void> {
    const current = this.#topology.snapshot().members;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(member.id)) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `id '${member.id}' must be 1-64 letters, digits, _ . or -`,
      );
    }
    if (!ADDRESS.test(member.address) || !ADDRESS.test(member.http)) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `address and http_address must be host:port, got '${member.address}' and '${member.http}'`,
      );
    }
    if (current.some((m) => m.id === member.id))
      throw new RingCacheError('INVALID_ARGUMENT', `node '${member.id}' is already a member`);
    const clash = current.find((m) => m.address === member.address || m.http === member.http);
    if (clash)
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `node '${clash.id}' already uses ${member.address} or ${member.http}`,
      );
    await this.#change(`join of ${member.id}`, (members) =>
      members.some((m) => m.id === member.id) ? undefined : [...members, member],
    );
  }

  /** Removes a member: a new epoch, adopted here and sent to every member, the leaving one included. */
  async leave(id: string): Promise<void> {
    const current = this.#topology.snapshot().members;
    if (!current.some((m) => m.id === id)) {
      throw new RingCacheError(
        'NOT_FOUND',
        `node '${id}' is not a member (members: ${current.map((m) => m.id).join(', ')})`,
      );
    }
    if (current.length === 1)
      throw new RingCacheError('INVALID_ARGUMENT', `node '${id}' is the last member; a ring needs one`);
    await this.#change(`leave of ${id}`, (members) =>
      members.some((m) => m.id === id) && members.length > 1 ? members.filter((m) => m.id !== id) : undefined,
    );
  }

  /**
   * Orders a change: `next` gives the members after it, or undefined once the ring already has it.
   * The new epoch is adopted here and sent to every member old and new. Their answers show whether
   * another member ordered a change at the same time; the rings then merge (ring-state.ts), and ours
   * is ordered again on top only if the merged ring lacks it (a later change of the same member won).
   */
  async #change(what: string, next: (members: RingMember[]) => RingMember[] | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = this.#topology.snapshot().members;
      const members = next(current);
      if (!members) return;
      const ringMajority = majority(current.length);
      const self = this.#view.selfId;
      // Only members count toward the majority: this node too only if it is one (a change may be
      // ordered through a node that left, which must not make half of a split ring a majority).
      const member = (id: string) => current.some((m) => m.id === id);
      const reachable = current.filter((m) => m.id === self || m.state === 'alive' || m.state === 'suspect');
      if (reachable.length < ringMajority) {
        throw new RingCacheError(
          'UNAVAILABLE',
          `${what} needs a majority of the ring alive (${ringMajority} of ${current.length}); ` +
            `only ${reachable.map((m) => m.id).join(', ')} are. Heal the partition or restart the dead nodes first.`,
        );
      }
      const state = changedRing(this.#topology.state(), members);
      const proposal = await this.#propose(state, current, ringMajority);
      if (proposal.answered < ringMajority) {
        throw new RingCacheError(
          'UNAVAILABLE',
          `${what} needs a majority of the ring (${ringMajority} of ${current.length}) to answer its proposal; ` +
            `${proposal.answered} did (${proposal.unreachable.join(', ')} did not). Nothing changed.`,
        );
      }
      if (proposal.newer.length > 0) {
        // Another ring is about (a change this node missed): take it in and make ours on top.
        for (const ring of proposal.newer) this.apply(ring);
        if (attempt >= MAX_ATTEMPTS) break;
        continue;
      }
      this.apply(state);
      const tell = [...new Set([...current, ...state.members].map((m) => m.id))].filter((id) => id !== self);
      const answered = new Set<string>();
      const acknowledgedBy = () => [...answered].filter(member).length + (member(self) ? 1 : 0);
      let missed = new Map<string, unknown>();
      for (
        let round = 1;
        round <= ORDER_ROUNDS && (round === 1 || acknowledgedBy() < ringMajority);
        round++
      ) {
        const sent = await this.#order(state, round === 1 ? tell : [...missed.keys()]);
        for (const answer of sent.answers) {
          answered.add(answer.from);
          this.apply(answer.ring);
        }
        missed = sent.missed;
      }
      for (const [peer, err] of missed)
        this.#log.warn({ err, peer }, 'ring change not delivered; gossip will carry the epoch');
      const acknowledged = acknowledgedBy();
      if (!next(this.#topology.snapshot().members)) {
        if (acknowledged >= ringMajority) return;
        throw new RingCacheError(
          'UNAVAILABLE',
          `${what} reached only ${acknowledged} of ${current.length} members of the ring (a majority is ` +
            `${ringMajority}); it is not acknowledged and takes effect where it spreads. Check with 'ringcache status'.`,
        );
      }
      if (attempt >= MAX_ATTEMPTS) break;
      this.#log.warn(
        { change: what, epoch: this.#topology.epoch },
        'ring change lost to a concurrent one; ordering it again',
      );
    }
    throw new RingCacheError(
      'ABORTED',
      `${what} lost to concurrent ring changes ${MAX_ATTEMPTS} times; the ring is at epoch ${this.#topology.epoch}. Retry.`,
    );
  }

  /**
   * Phase 1: shows the change to every other member of the current ring, until `majority` (this
   * node included) have answered or all have settled. Rings in the answers that are newer than
   * this node's, or changed apart from it, come back in `newer`.
   */
  #propose(
    state: RingState,
    current: RingMember[],
    majority: number,
  ): Promise<{ answered: number; unreachable: string[]; newer: RingState[] }> {
    const self = this.#view.selfId;
    const peers = current.map((m) => m.id).filter((id) => id !== self);
    const held = this.#topology.state();
    // This node's own answer counts only if it is a member (see #change).
    const answered = current.some((m) => m.id === self) ? 1 : 0;
    const result = { answered, unreachable: [] as string[], newer: [] as RingState[] };
    if (result.answered >= majority || peers.length === 0) return Promise.resolve(result);
    return new Promise((resolve) => {
      let settled = 0;
      const clock = this.#view.scheduler;
      const deadlineMs = clock.now() + PROPOSE_TIMEOUT_MS;
      // Asked again while the peer refuses at once: right after nodes start together, a peer's
      // channel waits in reconnect backoff for up to a second while the peer already serves.
      const propose = (id: string) => () =>
        this.#view.transport.proposeRing(id, state, Math.max(1, deadlineMs - clock.now())).then(
          (ring) => ring,
          (err: unknown) =>
            new RingCacheError('UNAVAILABLE', err instanceof Error ? err.message : String(err)),
        );
      const enough = () => result.answered >= majority;
      for (const id of peers) {
        void askReplica(clock, deadlineMs, propose(id), enough).then((ring) => {
          if (ring instanceof RingCacheError) result.unreachable.push(id);
          else {
            result.answered++;
            const relation = relationOf(held, ring);
            if (relation === 'newer' || relation === 'concurrent') result.newer.push(ring);
          }
          settled++;
          if (enough() || settled === peers.length) resolve(result);
        });
      }
    });
  }

  /** Sends the adopted `state` to members `tell`: the answers, and why the others did not answer. */
  async #order(
    state: RingState,
    tell: string[],
  ): Promise<{ answers: { from: string; ring: RingState }[]; missed: Map<string, unknown> }> {
    const answers: { from: string; ring: RingState }[] = [];
    const missed = new Map<string, unknown>();
    await Promise.all(
      tell.map((id) =>
        this.#view.transport.applyRing(id, state, ORDER_TIMEOUT_MS).then(
          (ring) => void answers.push({ from: id, ring }),
          (err: unknown) => void missed.set(id, err),
        ),
      ),
    );
    return { answers, missed };
  }
}
