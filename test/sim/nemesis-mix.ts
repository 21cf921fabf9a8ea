import fc from 'fast-check';
import type { Consistency } from '../../src/cluster/replication/operation';
import type { HistoryKind } from './history';
import type { SimSchedule, SimStep } from './schedule';
import { byTime, FLUSH_PREFIX, FLUSHED, ids, operations, replicasOf } from './workload';

/**
 * Faults that overlap, on 3 to 5 nodes at N=3, W=2, R=2, so that every read must see every
 * acknowledged write and a restarted replica's answers count toward its peers' quorums. Two acts:
 *
 * 1. a partition (a minority of one or two nodes cut from the rest, both ways or one way); a node
 *    SIGKILLed while it lasts and restarted empty (during it or after); another node SIGSTOPped
 *    across that restart, from before it (perhaps before the crash too) to after it;
 * 2. once all of that is over and the first restarted node caught up, a second node SIGKILLed and
 *    restarted, overlapped by one more fault: a third node paused across its downtime and restart,
 *    a node isolated around its crash (perhaps itself), or its peers' links to it slowed down past
 *    its restart, so that its catch-up is still running under the workload.
 *
 * A ring change, a join of a new node or (on 4 or 5 nodes) a leave, is ordered during one of those
 * windows, through a node then up; a joining node is cut off from what its sponsor is cut off from.
 *
 * The second crash waits until the first restarted node has pulled from its peers: until then a
 * write acknowledged by the first crashed node and one other may live on that other alone (the third
 * replica missed it, paused or cut off, and the hint for it is made only at the call's deadline), and
 * losing both copies is beyond what W=2 can survive. A catch-up starts pulling only once a member
 * answered its ring (2 s for each one that does not) and every peer answered its clock ping or timed
 * out (1 s): CATCH_UP_MS after the restart, with every fault of act 1 over by then, it has pulled.
 *
 * The workload is the mixed one, read-modify-writes sent to any node; increments sent to a node
 * other than the coordinator are forwarded calls, coordinated there, and retried by their client
 * through other nodes as in 'two-coordinators'. Those go only to nodes that replicate the counter on
 * the ring before and after the change: a node forwards a call only to a replica, and one that is
 * none would count its own empty store in the round's prepare.
 *
 * In most schedules, a flush of the FLUSHED keys at any time, through any node (it may
 * be down or cut off then), with sets, deletes and gets of those keys throughout.
 */
const DURATION_MS = 7000;
const OPS = 200;
const CATCH_UP_MS = 3000;

/** A fault that holds from `startMs` until `endMs` (a crashed node's restart, a pause's resume, a heal). */
interface Window {
  startMs: number;
  endMs: number;
}

/** A directed link cut during a window. */
interface Cut extends Window {
  from: string;
  to: string;
}

type Overlap = 'pause' | 'isolate' | 'slow';

/** What fast-check draws for one schedule on `k` nodes (indices pick nodes among the candidates). */
function draws(k: number) {
  const nodes = ids(k);
  return fc.record({
    ops: operations(nodes, DURATION_MS, { count: OPS, rmwAnywhere: true }),
    retries: fc.array(
      fc.record({
        copies: fc.integer({ min: 0, max: 2 }),
        retryAfterMs: fc.integer({ min: 0, max: 40 }),
      }),
      { minLength: OPS, maxLength: OPS },
    ),
    minority: fc.shuffledSubarray(nodes, { minLength: 1, maxLength: Math.floor((k - 1) / 2) }),
    direction: fc.constantFrom('both', 'out', 'in'),
    splitAt: fc.integer({ min: 100, max: 600 }),
    splitFor: fc.integer({ min: 300, max: 1200 }),
    first: fc.integer({ min: 0, max: k - 1 }),
    crashAfter: fc.integer({ min: 0, max: 1199 }),
    firstDownFor: fc.integer({ min: 100, max: 800 }),
    paused: fc.integer({ min: 0, max: k - 2 }),
    pausedBefore: fc.integer({ min: 50, max: 700 }),
    pausedAfter: fc.integer({ min: 50, max: 800 }),
    gap: fc.integer({ min: 300, max: 800 }),
    second: fc.integer({ min: 0, max: k - 2 }),
    secondDownFor: fc.integer({ min: 100, max: 800 }),
    overlap: fc.constantFrom<Overlap>('pause', 'isolate', 'slow'),
    other: fc.integer({ min: 0, max: k - 1 }),
    overlapBefore: fc.integer({ min: 0, max: 400 }),
    overlapAfter: fc.integer({ min: 50, max: 800 }),
    change: k > 3 ? fc.constantFrom<'join' | 'leave'>('join', 'leave') : fc.constant('join' as const),
    during: fc.integer({ min: 0, max: 4 }),
    at: fc.integer({ min: 0, max: 999 }),
    via: fc.integer({ min: 0, max: k - 1 }),
    leaver: fc.integer({ min: 0, max: k - 2 }),
    // Drawn last, so that the fields above draw what they drew before flushes were added.
    flushedOps: fc.array(
      fc.record({
        atMs: fc.integer({ min: 0, max: DURATION_MS }),
        type: fc.constant('op' as const),
        kind: fc.constantFrom<HistoryKind>('set', 'set', 'delete', 'get', 'get'),
        key: fc.constantFrom(...FLUSHED),
        node: fc.constantFrom('coordinator', ...nodes),
        consistency: fc.constantFrom<Consistency>('default', 'one', 'quorum', 'all'),
      }),
      { maxLength: 40 },
    ),
    flush: fc.option(
      fc.record({ atMs: fc.integer({ min: 0, max: DURATION_MS }), via: fc.integer({ min: 0, max: k - 1 }) }),
    ),
  });
}

type Draws = ReturnType<typeof draws> extends fc.Arbitrary<infer T> ? T : never;

export function nemesisMix(): fc.Arbitrary<SimSchedule> {
  return fc.integer({ min: 3, max: 5 }).chain((k) => draws(k).map((g) => new Nemesis(ids(k), g).schedule()));
}

/** Builds one schedule from what was drawn: the two acts, then the ring change within one of their windows. */
class Nemesis {
  readonly #nodes: string[];
  readonly #g: Draws;
  readonly #steps: SimStep[] = [];
  /** Every cut, as steps once the ring change added the joining node's. */
  readonly #cuts: Cut[] = [];
  /** Nodes crashed or paused, and when: a ring change goes through a node that is neither. */
  readonly #down: (Window & { node: string })[] = [];
  readonly #windows: Window[] = [];

  constructor(nodes: string[], g: Draws) {
    this.#nodes = nodes;
    this.#g = g;
  }

  schedule(): SimSchedule {
    const nodes = this.#nodes;
    const g = this.#g;
    this.#actTwo(this.#actOne());
    const members = this.#ringChange();
    // Cuts end with their act's heal step; those made at the join come before it at one instant.
    this.#steps.unshift(
      ...this.#cuts.map((c): SimStep => ({ atMs: c.startMs, type: 'cut', from: c.from, to: c.to })),
    );
    const ops = g.ops.map((s, i) => forwardedIncr(s, g.retries[i]!, nodes, members));
    // A flush of the FLUSHED keys, through a node that may be down or cut off then.
    if (g.flush) {
      const { atMs, via } = g.flush;
      ops.push(...g.flushedOps, { atMs, type: 'flush', prefix: FLUSH_PREFIX, node: nodes[via]! });
    }
    return {
      scenario: 'nemesis-mix',
      cluster: { nodes: nodes.length, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: DURATION_MS,
      steps: byTime([...this.#steps.filter((s) => s.atMs < DURATION_MS), ...ops]),
    };
  }

  #cutAll(from: string[], to: string[], w: Window): void {
    for (const a of from) for (const b of to) this.#cuts.push({ from: a, to: b, ...w });
  }

  /** The partition, a crash while it lasts, a pause across the restart. Returns the first restart and when all is over. */
  #actOne(): { restartMs: number; overMs: number } {
    const g = this.#g;
    const nodes = this.#nodes;
    const split = { startMs: g.splitAt, endMs: g.splitAt + g.splitFor };
    const rest = nodes.filter((id) => !g.minority.includes(id));
    if (g.direction !== 'in') this.#cutAll(g.minority, rest, split);
    if (g.direction !== 'out') this.#cutAll(rest, g.minority, split);
    const x = nodes[g.first]!;
    const startMs = split.startMs + (g.crashAfter % g.splitFor);
    const firstDown = { startMs, endMs: startMs + g.firstDownFor };
    const z = nodes.filter((id) => id !== x)[g.paused]!;
    const pause = {
      startMs: Math.max(0, firstDown.endMs - g.pausedBefore),
      endMs: firstDown.endMs + g.pausedAfter,
    };
    this.#down.push({ node: x, ...firstDown }, { node: z, ...pause });
    this.#steps.push(
      { atMs: firstDown.startMs, type: 'crash', node: x },
      { atMs: firstDown.endMs, type: 'restart', node: x },
      { atMs: pause.startMs, type: 'pause', node: z },
      { atMs: pause.endMs, type: 'resume', node: z },
      { atMs: split.endMs, type: 'heal' },
    );
    this.#windows.push(split, firstDown, pause);
    return { restartMs: firstDown.endMs, overMs: Math.max(split.endMs, firstDown.endMs, pause.endMs) };
  }

  /** A second crash once act 1 is over and its restarted node caught up, overlapped by one more fault. */
  #actTwo(act1: { restartMs: number; overMs: number }): void {
    const g = this.#g;
    const nodes = this.#nodes;
    const x = nodes[g.first]!;
    const y = nodes.filter((id) => id !== x)[g.second]!;
    const secondAt = Math.max(act1.overMs + g.gap, act1.restartMs + CATCH_UP_MS);
    const secondDown = { startMs: secondAt, endMs: secondAt + g.secondDownFor };
    this.#down.push({ node: y, ...secondDown });
    this.#steps.push({ atMs: secondDown.startMs, type: 'crash', node: y });
    this.#steps.push({ atMs: secondDown.endMs, type: 'restart', node: y });
    const overlap = { startMs: Math.max(act1.overMs + 1, secondDown.startMs - g.overlapBefore), endMs: 0 };
    if (g.overlap === 'pause') {
      const w = nodes.filter((id) => id !== y)[g.other % (nodes.length - 1)]!;
      overlap.endMs = secondDown.endMs + g.overlapAfter;
      this.#down.push({ node: w, ...overlap });
      this.#steps.push(
        { atMs: overlap.startMs, type: 'pause', node: w },
        { atMs: overlap.endMs, type: 'resume', node: w },
      );
    } else if (g.overlap === 'isolate') {
      const w = nodes[g.other]!;
      overlap.endMs = secondDown.startMs + g.overlapAfter;
      const others = nodes.filter((id) => id !== w);
      this.#cutAll([w], others, overlap);
      this.#cutAll(others, [w], overlap);
      this.#steps.push({ atMs: overlap.endMs, type: 'heal' });
    } else {
      overlap.startMs = secondDown.startMs;
      overlap.endMs = secondDown.endMs + g.overlapAfter;
      for (const from of nodes.filter((id) => id !== y)) {
        this.#steps.push({
          atMs: overlap.startMs,
          type: 'link',
          from,
          to: y,
          dropRate: 0,
          extraDelayMs: 300,
        });
      }
      this.#steps.push({ atMs: overlap.endMs, type: 'heal' });
    }
    this.#windows.push(secondDown, overlap);
  }

  /** The join or leave, during one of the windows, through a node then up. Returns the members after it. */
  #ringChange(): string[] {
    const g = this.#g;
    const nodes = this.#nodes;
    const window = this.#windows[g.during]!;
    const atMs = window.startMs + Math.floor(((window.endMs - window.startMs) * g.at) / 1000);
    const up = nodes.filter(
      (id) => !this.#down.some((d) => d.node === id && d.startMs <= atMs && atMs < d.endMs),
    );
    const via = up[g.via % up.length]!;
    if (g.change === 'leave') {
      const leaver = nodes.filter((id) => id !== via)[g.leaver]!;
      this.#steps.push({ atMs, type: 'leave', node: leaver, via });
      return nodes.filter((id) => id !== leaver);
    }
    const joiner = `n${nodes.length + 1}`;
    // On its sponsor's side of any cut that holds at that time.
    for (const c of this.#cuts.filter((c) => c.startMs <= atMs && atMs < c.endMs)) {
      if (c.from === via) this.#cuts.push({ ...c, from: joiner, startMs: atMs });
      if (c.to === via) this.#cuts.push({ ...c, to: joiner, startMs: atMs });
    }
    this.#steps.push({ atMs, type: 'join', node: joiner, via });
    return [...nodes, joiner];
  }
}

/**
 * An increment the workload sent to a given node becomes a forwarded call to a replica of its
 * counter on the ring before and after the change, retried through the next nodes (run.ts sends
 * copies to the first `copies` other nodes) as long as they are such replicas too.
 */
function forwardedIncr(
  step: SimStep,
  retry: { copies: number; retryAfterMs: number },
  nodes: string[],
  members: string[],
): SimStep {
  if (step.type !== 'op' || step.kind !== 'incr' || step.node === 'coordinator') return step;
  const after = replicasOf(step.key, members, 3);
  const replicas = replicasOf(step.key, nodes, 3).filter((id) => after.includes(id));
  if (replicas.length === 0) return { ...step, node: 'coordinator' };
  const node = replicas[Number(step.node.slice(1)) % replicas.length]!;
  const others = nodes.filter((id) => id !== node);
  let copies = 0;
  while (copies < retry.copies && replicas.includes(others[copies]!)) copies++;
  return { ...step, node, forwarded: true, copies, retryAfterMs: retry.retryAfterMs };
}
