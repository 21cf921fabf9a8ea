import type { Scheduler } from '../../src/cluster/membership/types';

/**
 * Virtual time for the simulator: one event queue for the whole simulated cluster, run in (time,
 * sequence) order, with every promise callback settled between two events, so a run depends on
 * nothing but its schedule and seed. Each event belongs to an owner (a node, or the world), so a
 * crashed node's timers vanish with it and a paused node's wait until it resumes.
 */
export interface SimEvent {
  atMs: number;
  seq: number;
  owner: string;
  fn: () => void;
  cancelled: boolean;
}

/** Lets every queued promise callback run: setImmediate fires only once the microtask queue is empty. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const WORLD = '<world>';

/** Messages delivered to a node are owned by its inbox: paused and killed with it, but not its own work. */
export const inboxOf = (owner: string) => `${owner}/in`;
const baseOf = (owner: string) => (owner.endsWith('/in') ? owner.slice(0, -3) : owner);

export class VirtualTime {
  #nowMs: number;
  #seq = 0;
  /** A binary heap ordered by (atMs, seq). */
  readonly #heap: SimEvent[] = [];
  /** Owners whose events are held back, with what was held (paused nodes). */
  readonly #paused = new Map<string, SimEvent[]>();
  /** Owners gone for good (a crashed incarnation): whatever is scheduled for them is dropped. */
  readonly #dead = new Set<string>();
  /** Events run so far: a cost measure, and part of the run's fingerprint. */
  eventsRun = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  at(atMs: number, owner: string, fn: () => void): SimEvent {
    const event: SimEvent = {
      atMs: Math.max(atMs, this.#nowMs),
      seq: ++this.#seq,
      owner,
      fn,
      cancelled: false,
    };
    if (this.#dead.has(baseOf(owner))) event.cancelled = true;
    else this.#push(event);
    return event;
  }

  after(ms: number, owner: string, fn: () => void): SimEvent {
    return this.at(this.#nowMs + Math.max(0, ms), owner, fn);
  }

  /** Drops every pending and future event of `owner` (a crash: its timers and in-flight work are gone). */
  kill(owner: string): void {
    this.#dead.add(owner);
    for (const e of this.#heap) if (baseOf(e.owner) === owner) e.cancelled = true;
    this.#paused.delete(owner);
  }

  isDead(owner: string): boolean {
    return this.#dead.has(owner);
  }

  /** Holds back `owner`'s events until resume(): a SIGSTOPped process runs no timer and reads no socket. */
  pause(owner: string): void {
    if (!this.#paused.has(owner)) this.#paused.set(owner, []);
  }

  resume(owner: string): void {
    const held = this.#paused.get(owner);
    if (!held) return;
    this.#paused.delete(owner);
    // In their original order, all due now: the process catches up on everything at once. The same
    // events, not copies: a timer cleared after the resume (its handle is the event) must not fire.
    for (const e of held) {
      if (e.cancelled) continue;
      e.atMs = this.#nowMs;
      e.seq = ++this.#seq;
      this.#push(e);
    }
  }

  isPaused(owner: string): boolean {
    return this.#paused.has(owner);
  }

  /** Runs events until the clock reaches `untilMs` (or the queue empties), settling promises after each. */
  async runUntil(untilMs: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.#heap[0];
      if (!next || next.atMs > untilMs) break;
      this.#pop();
      if (next.cancelled) continue;
      const held = this.#paused.get(baseOf(next.owner));
      this.#nowMs = next.atMs;
      if (held) {
        held.push(next);
        continue;
      }
      this.eventsRun++;
      next.fn();
      await settle();
    }
    this.#nowMs = Math.max(this.#nowMs, untilMs);
  }

  /**
   * Pending events (cancelled ones excluded) that `owner` made itself, its inbox aside: timers, and
   * deadlines and replies of its own calls. Zero once a stopped node left nothing behind.
   */
  pendingFor(owner: string): number {
    let n = 0;
    for (const e of this.#heap) if (!e.cancelled && e.owner === owner) n++;
    return n + (this.#paused.get(owner)?.length ?? 0);
  }

  /** A Scheduler for one node: its events carry its name, and its clock reads `skewMs` ahead. */
  schedulerFor(owner: string, skew: () => number): Scheduler {
    return {
      now: () => this.#nowMs + skew(),
      setTimeout: (fn, ms) => this.after(ms, owner, fn),
      clearTimeout: (handle) => {
        if (handle) (handle as SimEvent).cancelled = true;
      },
    };
  }

  #push(e: SimEvent): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
