import { RingCacheError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { Store } from '../../store/store';
import type { Ring } from '../../ring/ring';
import type { BackgroundTasks } from '../background-tasks';
import type { ClusterView } from '../cluster-view';
import { rebalance, type RebalanceProgress } from './rebalance';
import type { RingMember, RingState, Topology } from './topology';

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

/** Times a join or leave is ordered again after losing to a concurrent change, before giving up. */
const MAX_ATTEMPTS = 5;

/**
 * Explicit ring membership (DESIGN.md "Elasticity"): a join or a leave makes a new epoch, which the
 * node that ordered it sends to every member; members that miss it learn the epoch from pings and
 * fetch the ring. Adopting a newer ring starts a rebalance that streams records to their new replicas.
 */
export class RingChanges {
  readonly #topology: Topology;
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #factor: number;
  readonly #log: Logger;
  readonly #onAdopted: (members: RingMember[], before: Ring) => void;
  readonly #tasks: BackgroundTasks;
  readonly #tombstoneGraceMs: number | undefined;
  #fetching: Promise<void> | undefined;
  /** The latest rebalance, for metrics and tests. */
  progress: RebalanceProgress | undefined;

  constructor(opts: {
    topology: Topology;
    view: ClusterView;
    store: Store;
    factor: number;
    /** cluster.tombstone_grace_ms: release never sends a copy older than this (release.ts). */
    tombstoneGraceMs?: number;
    logger: Logger;
    /** Where rebalances run: the node's stop() aborts and awaits them. */
    tasks: BackgroundTasks;
    /** Called with the new members once a ring is adopted (gossip probes them from then on). */
    onAdopted: (members: RingMember[], before: Ring) => void;
  }) {
    this.#topology = opts.topology;
    this.#view = opts.view;
    this.#store = opts.store;
    this.#factor = opts.factor;
    this.#log = opts.logger;
    this.#onAdopted = opts.onAdopted;
    this.#tasks = opts.tasks;
    this.#tombstoneGraceMs = opts.tombstoneGraceMs;
  }

  state(): RingState {
    return this.#topology.state();
  }

  /** Adopts `state` if its epoch is newer than ours, and rebalances; false when it was not newer. */
  apply(state: RingState): boolean {
    const members = state.members.map((m) => ({ id: m.id, address: m.address, http: m.http }));
    const before = this.#topology.adopt(state.epoch, members);
    if (!before) return false;
    this.#onAdopted(members, before);
    const epoch = state.epoch;
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
        logger: this.#log,
        // Not the epoch: a concurrent change can replace this ring by another of the same epoch.
        isCurrent: () => !signal.aborted && this.#topology.generation === generation,
        progress,
        tombstoneGraceMs: this.#tombstoneGraceMs,
        signal,
      }),
    );
    return true;
  }

  /** A peer's ping said its ring is newer: fetch it (one fetch at a time). */
  onNewerEpoch(peer: string, epoch: number): void {
    if (epoch <= this.#topology.epoch || this.#fetching) return;
    this.#fetching = this.#view.transport
      .applyRing(peer, this.state(), 2000)
      .then((state) => void this.apply(state))
      .catch((err: unknown) => this.#log.warn({ err, peer }, 'could not fetch the newer ring'))
      .finally(() => (this.#fetching = undefined));
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
   * another member ordered a change of the same epoch at the same time; if that one won the tie
   * (Topology.adopt) and ours is not in the ring, ours is ordered again on top of it.
   */
  async #change(what: string, next: (members: RingMember[]) => RingMember[] | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = this.#topology.snapshot().members;
      const members = next(current);
      if (!members) return;
      const answers = await this.#order(this.#topology.epoch + 1, members, current);
      for (const answer of answers) this.apply(answer);
      if (!next(this.#topology.snapshot().members)) return;
      if (attempt >= MAX_ATTEMPTS) {
        throw new RingCacheError(
          'ABORTED',
          `${what} lost to concurrent ring changes ${attempt} times; the ring is at epoch ${this.#topology.epoch}. Retry.`,
        );
      }
      this.#log.warn(
        { change: what, epoch: this.#topology.epoch },
        'ring change lost to a concurrent one; ordering it again',
      );
    }
  }

  /** Adopts the ring of `epoch` here and sends it to every member of the old and new rings; their answers. */
  async #order(epoch: number, members: RingMember[], before: RingMember[]): Promise<RingState[]> {
    const state: RingState = { epoch, members };
    const self = this.#view.selfId;
    const tell = [...new Set([...before, ...members].map((m) => m.id))].filter((id) => id !== self);
    this.apply(state);
    const answers = await Promise.all(
      tell.map((id) =>
        this.#view.transport.applyRing(id, state, 3000).catch((err: unknown) => {
          this.#log.warn({ err, peer: id }, 'ring change not delivered; gossip will carry the epoch');
          return undefined;
        }),
      ),
    );
    return answers.filter((a): a is RingState => a !== undefined);
  }
}
