import type { Logger } from '../../observability/logger';
import type { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import type { BackgroundTasks } from '../background-tasks';
import type { ClusterView } from '../cluster-view';
import type { RequestLog } from '../replication/request-log';
import type { RingState, Topology } from '../ring-change/topology';
import { catchUpFromPeers, type CatchUpProgress } from './catch-up';

export interface CatchUpStateOptions {
  view: ClusterView;
  store: Store;
  /** The read-modify-writes this node remembers (their outcomes), which it pulls with the records. */
  requests: RequestLog;
  topology: Topology;
  tasks: BackgroundTasks;
  logger: Logger;
  /** Adopts a ring a peer answered with (RingChanges.apply). */
  adopt(ring: RingState): void;
  /** Advances this node's HLC past a peer's (refusing one too far ahead). */
  observePeerClock(peer: string, clock: number): void;
  /** N: how many nodes hold each key. */
  factor: number;
  /** The catch-up of a start ended: this node holds what its peers hold for it. */
  onCaughtUp(): void;
}

/** How long a starting node waits for a member's ring before it goes on without it. */
const LEARN_RING_TIMEOUT_MS = 2000;

/**
 * Whether this node holds what its peers hold for it. Two ways to be behind:
 * - after start(), its store is empty: it first learns the current ring from a member it knows (its
 *   cluster.yml may predate joins and leaves), then pulls what it replicates from the ring's members;
 * - after a ring change that gave it keys, it pulls them from every member of the rings before and
 *   after (any live old replica can send; one that dies mid-stream is covered by the others). A newer
 *   change restarts the pull, keeping every ring not yet pulled from (`sourceRings`).
 * Until then it takes replica writes and hints but answers no read and decides no read-modify-write
 * from its own copy alone (ClusterView.catchingUp); reads ask the keys' old replicas too. Nor does it
 * answer its peers' reads and prepares of a key it may lack (mayLack): they must not count its copy.
 */
export class CatchUpState {
  readonly #opts: CatchUpStateOptions;
  #starting = false;
  /** Set while this node's data is dropped after a long absence, until its rejoin's catch-up ends. */
  #dropped: AbortController | undefined;
  #sourceRings: Ring[] = [];
  #moveIn: AbortController | undefined;
  readonly #caughtUp: Promise<void>;
  #markCaughtUp: () => void = () => undefined;
  /** The catch-up of start(): records received and applied, bytes, and whether it finished. */
  readonly progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: 0, done: false };

  constructor(opts: CatchUpStateOptions) {
    this.#opts = opts;
    this.#caughtUp = new Promise<void>((resolve) => (this.#markCaughtUp = resolve));
  }

  get catchingUp(): boolean {
    return this.#starting || this.#dropped !== undefined || this.#sourceRings.length > 0;
  }

  /**
   * Whether this node's copy of `key` may be missing or old, so that a peer must not count it: any key
   * while the catch-up of a start runs; after a ring change, a key it did not replicate on every ring
   * it still pulls from. O(1) unless a ring change's keys are still coming in.
   */
  mayLack(key: string): boolean {
    if (this.#starting || this.#dropped) return true;
    if (this.#sourceRings.length === 0) return false;
    const { view, factor } = this.#opts;
    return this.#sourceRings.some((ring) => !ring.preferenceList(key, factor).includes(view.selfId));
  }

  /** The rings before the changes whose keys this node still pulls. */
  get sourceRings(): readonly Ring[] {
    return this.#sourceRings;
  }

  /** Resolves once the catch-up of start() finished. */
  caughtUp(): Promise<void> {
    return this.#caughtUp;
  }

  /** The catch-up of a start; with no peer there is nothing to catch up. */
  start(): void {
    // With N=1 too: a joining node pulls the keys its ring gives it before its join is ordered.
    if (this.#opts.topology.ring.nodeIds.length < 2) return this.#finish();
    this.#starting = true;
    this.#opts.tasks.run('catch-up', (signal) => this.#catchUp(signal));
  }

  /**
   * This node dropped its data after a long absence (absence.ts): it is catching up again, as after
   * a restart, and stays so until rejoin()'s catch-up ends. A rejoin under way starts over.
   */
  dropped(): void {
    this.#dropped?.abort();
    this.#dropped = new AbortController();
    this.#moveIn?.abort();
    this.#moveIn = undefined;
    this.#sourceRings = [];
  }

  /** After dropped(): this node reaches most members again; it pulls what it replicates from them. */
  rejoin(): void {
    const controller = this.#dropped;
    if (!controller) return;
    this.#opts.tasks.run('catch-up', async (stopped) => {
      const signal = AbortSignal.any([stopped, controller.signal]);
      const progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: 0, done: false };
      try {
        await this.#pull(signal, progress);
      } finally {
        if (!signal.aborted && this.#dropped === controller) {
          this.#dropped = undefined;
          this.#opts.onCaughtUp();
        }
      }
    });
  }

  /** A ring was adopted (`before`: the one it replaced); `member`: whether this node is on it. */
  ringChanged(before: Ring, member: boolean): void {
    this.#moveIn?.abort();
    this.#moveIn = undefined;
    if (member) this.#startMoveIn(before);
    else this.#sourceRings = [];
  }

  async #catchUp(signal: AbortSignal): Promise<void> {
    try {
      await this.#pull(signal, this.progress);
    } finally {
      if (!signal.aborted) this.#finish();
    }
  }

  /** Learns the current ring and the peers' clocks, then pulls what this node replicates from its members. */
  async #pull(signal: AbortSignal, progress: CatchUpProgress): Promise<void> {
    const { view, store, requests, topology, logger } = this.#opts;
    await this.#learnRing(signal);
    const peers = topology.ring.nodeIds.filter((id) => id !== view.selfId);
    await this.#learnClocks(peers, signal);
    progress.peers = peers.length;
    const log = logger.child({ component: 'catch-up' });
    await catchUpFromPeers(view, peers, { store, requests }, log, signal, progress);
  }

  /**
   * Offers this node's ring to every member it knows, at once, and adopts each answer (a newer ring
   * replaces it, a concurrent one merges). Not only the first to answer: a member that was cut off
   * while the others changed the ring holds the same old ring as this node, and taking its answer for
   * the current ring, this node would pull what it replicates on that old ring, not find there the
   * writes its old replicas moved away, and count its own empty copy with that member's in a quorum
   * (nemesis mix seed 202,563: a get at R = 2 found nothing after a set at W = 2). Members that do
   * not answer within the timeout are left to gossip. None answering means this node's ring is all
   * there is.
   */
  async #learnRing(signal: AbortSignal): Promise<void> {
    const { view, topology } = this.#opts;
    const offered = topology.state();
    await Promise.all(
      topology.ring.nodeIds
        .filter((id) => id !== view.selfId)
        .map((id) =>
          view.transport.applyRing(id, offered, LEARN_RING_TIMEOUT_MS).then(
            (ring) => {
              if (!signal.aborted) this.#opts.adopt(ring);
            },
            () => undefined, // down or unreachable: gossip brings its ring once it answers
          ),
        ),
    );
  }

  /**
   * Pings every peer once for its HLC, so this node's clock is past all of theirs before it takes
   * writes of its own (a restarted node's HLC starts from its wall clock, which may lag).
   */
  async #learnClocks(peers: string[], signal: AbortSignal): Promise<void> {
    const { view, store, topology } = this.#opts;
    // With the ring's digest: a peer takes an equal epoch and digest for a confirmation of its own
    // ring (ring-contact.ts), and this node's first ring may differ from the members' at one epoch.
    const ping = {
      from: view.selfId,
      updates: [],
      ringEpoch: topology.epoch,
      ringDigest: topology.digest,
      clock: store.hlc.last,
    };
    await Promise.all(
      peers.map((id) =>
        view.transport.ping(id, ping, 1000, signal).then(
          (reply) => reply.clock && this.#opts.observePeerClock(id, reply.clock),
          () => undefined, // down: gossip carries its clock once it answers
        ),
      ),
    );
  }

  #finish(): void {
    this.#starting = false;
    this.progress.done = true;
    this.#opts.onCaughtUp();
    this.#markCaughtUp();
  }

  #startMoveIn(before: Ring): void {
    const { view, store, requests, topology, tasks, logger } = this.#opts;
    this.#sourceRings = [...this.#sourceRings, before];
    const controller = new AbortController();
    this.#moveIn = controller;
    const log = logger.child({ component: 'move-in', epoch: topology.epoch });
    const ring = topology.state();
    const peers = new Set<string>();
    for (const r of [...this.#sourceRings, topology.ring])
      for (const id of r.nodeIds) if (id !== view.selfId) peers.add(id);
    tasks.run('move-in', async (stopped) => {
      const signal = AbortSignal.any([stopped, controller.signal]);
      const progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: peers.size, done: false };
      await catchUpFromPeers(view, [...peers], { store, requests }, log, signal, progress, ring);
      if (signal.aborted || this.#moveIn !== controller) return;
      this.#sourceRings = [];
      this.#moveIn = undefined;
    });
  }
}
