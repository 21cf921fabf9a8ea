import { pino } from 'pino';
import { DEFAULT_GOSSIP_CONFIG } from '../../../../src/cluster/membership/config';
import { Membership } from '../../../../src/cluster/membership/membership';
import type {
  GossipConfig,
  GossipTransport,
  MemberState,
  MemberUpdate,
  Scheduler,
} from '../../../../src/cluster/membership/types';

import { seededRandom } from '../../../support/seeded-random';

export { seededRandom };

/** Lets every queued promise callback run (setImmediate fires only after the microtask queue drains). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface FakeTimer {
  atMs: number;
  seq: number;
  fn: () => void;
}

/** A manual clock: timers run only inside advance(), in due order, with promises settled in between. */
export class FakeScheduler implements Scheduler {
  #nowMs: number;
  #seq = 0;
  readonly #timers = new Map<number, FakeTimer>();

  constructor(startMs = 1_000_000) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { atMs: this.#nowMs + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves the clock forward by `ms`, running each due timer at its own time. */
  async advance(ms: number): Promise<void> {
    const untilMs = this.#nowMs + ms;
    for (;;) {
      await settle();
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.atMs <= untilMs)
        .sort(([, a], [, b]) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#nowMs = due[1].atMs;
      due[1].fn();
    }
    this.#nowMs = untilMs;
    await settle();
  }
}

/**
 * One node's view of the shared clock. While the node is paused (SIGSTOP) its timers that come due
 * are held and run on resume, late, as a stopped process's timers would.
 */
class PausableScheduler implements Scheduler {
  paused = false;
  #held: { fn: () => void; cancelled: boolean }[] = [];

  constructor(private readonly inner: FakeScheduler) {}

  now(): number {
    return this.inner.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = { inner: undefined as unknown, fn, cancelled: false };
    handle.inner = this.inner.setTimeout(() => {
      if (handle.cancelled) return;
      if (this.paused) this.#held.push(handle);
      else fn();
    }, ms);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const h = handle as { inner: unknown; cancelled: boolean };
    h.cancelled = true;
    this.inner.clearTimeout(h.inner);
  }

  resume(): void {
    this.paused = false;
    const held = this.#held;
    this.#held = [];
    for (const h of held) if (!h.cancelled) h.fn();
  }
}

interface Node {
  membership: Membership;
  scheduler: PausableScheduler;
}

/**
 * Several Membership instances wired through an in-memory transport. A killed node refuses
 * connections at once; a paused node never answers (the caller's deadline fires); a cut link drops
 * traffic between two nodes in both directions.
 */
export class FakeCluster {
  readonly scheduler = new FakeScheduler();
  readonly config: GossipConfig;
  readonly #ids: string[];
  readonly #nodes = new Map<string, Node>();
  readonly #killed = new Set<string>();
  readonly #cuts = new Set<string>();
  readonly #random: () => number;
  messages = 0;

  constructor(ids: string[], opts: { seed?: number; config?: Partial<GossipConfig> } = {}) {
    this.#ids = ids;
    this.#random = seededRandom(opts.seed ?? 42);
    this.config = { ...DEFAULT_GOSSIP_CONFIG, ...opts.config };
    for (const id of ids) this.#nodes.set(id, this.#create(id, 0));
  }

  #create(id: string, initialIncarnation?: number): Node {
    const scheduler = new PausableScheduler(this.scheduler);
    const membership = new Membership({
      selfId: id,
      memberIds: this.#ids,
      config: this.config,
      transport: this.#transportFor(id),
      logger: pino({ level: 'silent' }),
      scheduler,
      random: this.#random,
      ...(initialIncarnation === undefined ? {} : { initialIncarnation }),
    });
    return { membership, scheduler };
  }

  node(id: string): Membership {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n.membership;
  }

  start(): void {
    for (const n of this.#nodes.values()) n.membership.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#nodes.values()].map((n) => n.membership.stop()));
  }

  /** SIGKILL: the process is gone; connections to it are refused. */
  async kill(id: string): Promise<void> {
    this.#killed.add(id);
    await this.node(id).stop();
  }

  /**
   * A fresh process for `id`: empty state, incarnation from the clock unless given. With
   * `start: false` it only answers pings (it never gossips first).
   */
  restart(id: string, opts: { initialIncarnation?: number; start?: boolean } = {}): Membership {
    this.#killed.delete(id);
    const n = this.#create(id, opts.initialIncarnation);
    this.#nodes.set(id, n);
    if (opts.start ?? true) n.membership.start();
    return n.membership;
  }

  pause(id: string): void {
    this.#get(id).scheduler.paused = true;
  }

  resume(id: string): void {
    this.#get(id).scheduler.resume();
  }

  cut(a: string, b: string): void {
    this.#cuts.add([a, b].sort().join('|'));
  }

  /** The state each of `observers` holds for `id`. */
  statesOf(id: string, observers: string[]): (MemberState | undefined)[] {
    return observers.map((o) => this.node(o).state(id));
  }

  #get(id: string): Node {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Resolves with the target node once it may answer; rejects as a network would. */
  async #reach(from: string, to: string, signal: AbortSignal): Promise<Membership> {
    this.messages += 1;
    await Promise.resolve(); // never answer synchronously: a real call crosses the event loop
    if (signal.aborted) throw new Error('aborted');
    if (this.#killed.has(to)) throw new Error(`connect ECONNREFUSED ${to}`);
    const target = this.#get(to);
    if (this.#cuts.has([from, to].sort().join('|')) || target.scheduler.paused) {
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => reject(new Error('deadline exceeded')), { once: true });
      });
    }
    return target.membership;
  }

  #transportFor(from: string): GossipTransport {
    return {
      ping: async (target: string, updates: MemberUpdate[], signal: AbortSignal) => {
        const node = await this.#reach(from, target, signal);
        return node.handlePing(from, updates);
      },
      pingReq: async (via: string, target: string, updates: MemberUpdate[], signal: AbortSignal) => {
        const node = await this.#reach(from, via, signal);
        return node.handlePingReq(from, target, updates);
      },
    };
  }
}
