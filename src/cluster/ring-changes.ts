import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import type { MemberMsg, RingStateMsg } from '../proto/messages';
import type { Store } from '../store/store';
import type { ClusterView } from './cluster-view';
import { rebalance, type RebalanceProgress } from './rebalance';
import type { Topology } from './topology';

export interface RingMember {
  id: string;
  address: string;
  http: string;
}

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

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
  readonly #onAdopted: (members: RingMember[]) => void;
  #fetching: Promise<void> | undefined;
  /** The latest rebalance, for metrics and tests. */
  progress: RebalanceProgress | undefined;

  constructor(opts: {
    topology: Topology;
    view: ClusterView;
    store: Store;
    factor: number;
    logger: Logger;
    /** Called with the new members once a ring is adopted (gossip probes them from then on). */
    onAdopted: (members: RingMember[]) => void;
  }) {
    this.#topology = opts.topology;
    this.#view = opts.view;
    this.#store = opts.store;
    this.#factor = opts.factor;
    this.#log = opts.logger;
    this.#onAdopted = opts.onAdopted;
  }

  state(): RingStateMsg {
    const snap = this.#topology.snapshot();
    return {
      epoch: snap.epoch,
      members: snap.members.map((m) => ({
        id: m.id,
        address: m.address,
        httpAddress: m.http,
        state: 0,
        incarnation: 0,
      })),
    };
  }

  /** Adopts `state` if its epoch is newer than ours, and rebalances; false when it was not newer. */
  apply(state: RingStateMsg): boolean {
    const members = state.members.map((m: MemberMsg) => ({
      id: m.id,
      address: m.address,
      http: m.httpAddress,
    }));
    const before = this.#topology.adopt(state.epoch, members);
    if (!before) return false;
    this.#onAdopted(members);
    const epoch = state.epoch;
    const progress: RebalanceProgress = { epoch, scanned: 0, sent: 0, failed: 0, released: 0, done: false };
    this.progress = progress;
    void rebalance({
      epoch,
      before,
      after: this.#topology.ring,
      factor: this.#factor,
      view: this.#view,
      store: this.#store,
      logger: this.#log,
      isCurrent: () => this.#topology.epoch === epoch,
      progress,
    }).catch((err: unknown) => this.#log.error({ err, epoch }, 'rebalance failed'));
    return true;
  }

  /** A peer's ping said its ring is newer: fetch it (one fetch at a time). */
  onNewerEpoch(peer: string, epoch: number): void {
    if (epoch <= this.#topology.epoch || this.#fetching) return;
    this.#fetching = this.#view
      .peer(peer)
      .applyRing(this.state(), 2000)
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
    await this.#change([...current, member], [...current.map((m) => m.id), member.id]);
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
    await this.#change(
      current.filter((m) => m.id !== id),
      current.map((m) => m.id),
    );
  }

  async #change(members: RingMember[], tellIds: string[]): Promise<void> {
    const state: RingStateMsg = {
      epoch: this.#topology.epoch + 1,
      members: members.map((m) => ({
        id: m.id,
        address: m.address,
        httpAddress: m.http,
        state: 0,
        incarnation: 0,
      })),
    };
    const self = this.#view.selfId;
    const tell = tellIds.filter((id) => id !== self);
    // A leaving member must be resolved before the ring changes (it is not in the new one), a joining
    // member after (it is not in the old one).
    const peers = tell.filter((id) => this.#topology.member(id)).map((id) => this.#view.peer(id));
    this.apply(state);
    for (const id of tell) if (!peers.some((p) => p.id === id)) peers.push(this.#view.peer(id));
    await Promise.all(
      peers.map((p) =>
        p
          .applyRing(state, 3000)
          .catch((err: unknown) =>
            this.#log.warn({ err, peer: p.id }, 'ring change not delivered; gossip will carry the epoch'),
          ),
      ),
    );
  }
}
