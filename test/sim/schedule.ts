import fc from 'fast-check';
import type { Consistency } from '../../src/cluster/replication/operation';
import type { HistoryKind } from './history';
import { nemesisMix } from './nemesis-mix';
import { splitStaleRingRead, staleRingWrite } from './stale-ring-scenarios';
import { byTime, FLUSH_PREFIX, FLUSHED, ids, operations, replicasOf } from './workload';

export { COUNTERS, FLUSHED, FLUSH_PREFIX, REGISTERS } from './workload';

/**
 * A simulator run, written out in full: the cluster's shape, and every client operation and fault
 * with its time. fast-check generates these from a seed and shrinks a failing one to a short trace
 * that `npm run sim -- --replay FILE` runs again, byte for byte.
 */
export type SimStep =
  | {
      atMs: number;
      type: 'op';
      kind: HistoryKind;
      key: string;
      /**
       * The node the client sends it to; 'coordinator' = the key's first replica, as the SDK routes;
       * 'non-replica' = a node that is no replica of the key, so it forwards (a stale client's ring).
       */
      node: string;
      consistency: Consistency;
      /** incr: the delta. */
      delta?: number;
      /** set, cas, touch: the time to live given, in ms (0 or unset: none). */
      ttlMs?: number;
      /** set: its condition (unset: always). */
      mode?: 'ifAbsent' | 'ifPresent';
      /**
       * incr, and a set with a condition: the same request (one request id) sent again to this many
       * other nodes, `retryAfterMs`
       * after the first, as the SDK does when a replica is slow to answer: they forward it to the
       * key's coordinator, so its copies can meet there.
       */
      copies?: number;
      retryAfterMs?: number;
      /**
       * Sent as a forwarded call: the node coordinates it there, whoever the key's coordinator is, as
       * a node does with a call another node forwarded to it (two releases that choose coordinators
       * differently, two views of who is alive). Its copies too.
       */
      forwarded?: boolean;
    }
  | { atMs: number; type: 'crash' | 'restart' | 'pause' | 'resume'; node: string }
  | { atMs: number; type: 'cut'; from: string; to: string }
  | { atMs: number; type: 'isolate'; node: string }
  | { atMs: number; type: 'heal' }
  | {
      atMs: number;
      type: 'link';
      from: string;
      to: string;
      dropRate: number;
      extraDelayMs: number;
      /** Requests delivered twice, a long tail of delays, catch-up streams cut (LinkFault). */
      duplicateRate?: number;
      tailRate?: number;
      tailDelayMs?: number;
      syncCutRate?: number;
    }
  | { atMs: number; type: 'skew'; node: string; skewMs: number }
  | { atMs: number; type: 'join'; node: string; via: string }
  | { atMs: number; type: 'leave'; node: string; via: string }
  /** Cluster/Flush of every key that starts with `prefix`, through `node`. */
  | { atMs: number; type: 'flush'; prefix: string; node: string }
  /**
   * Memory pressure on one node: `count` values of `bytes` each, of keys no client reads (FILLER_PREFIX),
   * written straight into its store, as if it held them for other keys' writes: with a small
   * `maxMemoryBytes` it evicts least recently used values, the workload's among them.
   */
  | { atMs: number; type: 'fill'; node: string; count: number; bytes: number };

export interface SimSchedule {
  scenario: string;
  cluster: {
    nodes: number;
    factor: number;
    writeQuorum: number;
    readQuorum: number;
    /** Anti-entropy interval (virtual ms); off when absent. */
    antiEntropyMs?: number;
    /** hints.max_age_ms; 30 s when absent. */
    hintMaxAgeMs?: number;
    /** tombstone_grace_ms and max_clock_offset_ms; 60 s each when absent (SimClusterOptions). */
    tombstoneGraceMs?: number;
    maxClockOffsetMs?: number;
    /** Store sweeps (virtual ms between them); off when absent. */
    sweepIntervalMs?: number;
    /** limits.max_memory of every node; 64 MiB when absent (no eviction). */
    maxMemoryBytes?: number;
    /** How long and how many requests nodes remember, and how long they keep ballot promises (SimClusterOptions). */
    requestWindowMs?: number;
    requestLogEntries?: number;
    promiseWindowMs?: number;
  };
  /** Virtual ms the steps span; then every fault heals and the cluster is left quiet. */
  durationMs: number;
  steps: SimStep[];
}

/**
 * `node` of 3 SIGKILLed at 1 s and restarted at 1.2 s behind links 300 ms slower than the rest, so
 * its catch-up is still running while the workload goes on; healed at 2.5 s.
 */
function restartBehindSlowLinks(node: string): SimStep[] {
  const slow = ids(3)
    .filter((id) => id !== node)
    .map((from): SimStep => ({ atMs: 1000, type: 'link', from, to: node, dropRate: 0, extraDelayMs: 300 }));
  return [
    { atMs: 1000, type: 'crash', node },
    ...slow,
    { atMs: 1200, type: 'restart', node },
    { atMs: 2500, type: 'heal' },
  ];
}

type Scenario = () => fc.Arbitrary<SimSchedule>;

/** Schedules the promises must survive: CI runs these, and they stay green. */
export const GREEN_SCENARIOS: Record<string, Scenario> = {
  /** No faults: three nodes, N=3, W=2, R=1 by default, every consistency in use. */
  happy: () =>
    operations(ids(3), 3000, { count: 200 }).map((steps) => ({
      scenario: 'happy',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
      durationMs: 3000,
      steps: byTime(steps),
    })),
  /** One node SIGKILLed under load, restarted empty later (or at the heal). */
  crash: () =>
    fc
      .tuple(
        operations(ids(3), 4000, { count: 200 }),
        fc.constantFrom(...ids(3)),
        fc.integer({ min: 0, max: 3000 }),
        fc.option(fc.integer({ min: 200, max: 3000 }), { nil: undefined }),
      )
      .map(([ops, node, crashAt, downFor]) => ({
        scenario: 'crash',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
        durationMs: 4000,
        steps: byTime([
          ...ops,
          { atMs: crashAt, type: 'crash', node },
          ...(downFor === undefined ? [] : [{ atMs: crashAt + downFor, type: 'restart' as const, node }]),
        ]),
      })),
  /** One node SIGSTOPped under load and resumed later (or at the heal). */
  pause: () =>
    fc
      .tuple(
        operations(ids(3), 4000, { count: 200 }),
        fc.constantFrom(...ids(3)),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 100, max: 3000 }),
      )
      .map(([ops, node, pauseAt, pausedFor]) => ({
        scenario: 'pause',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
        durationMs: 4000,
        steps: byTime([
          ...ops,
          { atMs: pauseAt, type: 'pause', node },
          { atMs: pauseAt + pausedFor, type: 'resume', node },
        ]),
      })),
  /** Clocks apart: one node's clock runs up to 500 ms ahead or behind the others from the start. */
  skew: () =>
    fc
      .tuple(
        operations(ids(3), 3000, { count: 200 }),
        fc.constantFrom(...ids(3)),
        fc.integer({ min: -500, max: 500 }),
      )
      .map(([ops, node, skewMs]) => ({
        scenario: 'skew',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
        durationMs: 3000,
        steps: byTime([{ atMs: 0, type: 'skew', node, skewMs }, ...ops]),
      })),
  /**
   * incr and cas sent at once to every replica (issue 11 §1: before one coordinator per key, concurrent
   * ones raced and were lost or doubled).
   */
  'rmw-any-coordinator': () =>
    operations(ids(3), 20, { count: 60, rmwAnywhere: true }).map((steps) => ({
      scenario: 'rmw-any-coordinator',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
      durationMs: 20,
      steps: byTime(steps),
    })),
  /**
   * Increments retried by their client through the other replicas while the first attempt may still
   * run (the SDK's failover past a slow node), with one node paused for a while: every copy of a
   * request carries its id, and it must count once. At 76fb3f3 copies that met in one round at the
   * coordinator were each applied.
   */
  'client-retries': () =>
    fc
      .tuple(
        operations(ids(3), 600, { count: 80 }),
        fc.array(
          fc.record({
            copies: fc.integer({ min: 1, max: 2 }),
            retryAfterMs: fc.integer({ min: 0, max: 40 }),
          }),
          {
            minLength: 80,
            maxLength: 80,
          },
        ),
        fc.constantFrom(...ids(3)),
        fc.integer({ min: 0, max: 400 }),
      )
      .map(([ops, retries, paused, pauseAt]) => ({
        scenario: 'client-retries',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
        durationMs: 600,
        steps: byTime([
          ...ops.map((s, i) => (s.type === 'op' && s.kind === 'incr' ? { ...s, ...retries[i]! } : s)),
          { atMs: pauseAt, type: 'pause', node: paused },
          { atMs: pauseAt + 150, type: 'resume', node: paused },
        ]),
      })),
  /**
   * Increments coordinated at whichever node receives them (forwarded calls) and retried through the
   * others, at W=2: two coordinators of a counter contend all the time, and a round every other
   * replica refused must leave nothing for a retry to find. At 3fd21bb the retry of such a round
   * answered the value it had computed, which the round that won had also answered: one increment
   * lost, and two callers told the same value.
   */
  'two-coordinators': () =>
    fc
      .tuple(
        operations(ids(3), 600, { count: 80, rmwAnywhere: true }),
        fc.array(
          fc.record({
            copies: fc.integer({ min: 0, max: 2 }),
            retryAfterMs: fc.integer({ min: 0, max: 40 }),
          }),
          { minLength: 80, maxLength: 80 },
        ),
      )
      .map(([ops, retries]) => ({
        scenario: 'two-coordinators',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 },
        durationMs: 600,
        steps: byTime(
          ops.map((s, i) =>
            s.type === 'op' && s.kind === 'incr' && s.node !== 'coordinator'
              ? { ...s, ...retries[i]!, forwarded: true }
              : s,
          ),
        ),
      })),
  /**
   * Issue 11 §1: a node that forwarded an incr moved on to the next replica after QUORUM_NOT_MET,
   * although the first one had applied it. A replica of the counter is SIGKILLed; until gossip declares it
   * dead its refused connection leaves each incr at W = all one acknowledgement short, and the
   * forwarding node (the one node that is no replica) tries the next replica, which applies it again.
   */
  'reforward-after-quorum': () =>
    fc
      .tuple(operations(ids(4), 400, { count: 40, registerKinds: ['set'] }), fc.constantFrom(1, 2))
      .map(([ops, replica]) => ({
        scenario: 'reforward-after-quorum',
        cluster: { nodes: 4, factor: 3, writeQuorum: 3, readQuorum: 1 },
        durationMs: 400,
        steps: byTime([
          ...ops.map((s) =>
            s.type === 'op' && s.kind === 'incr'
              ? { ...s, key: 'c0', node: 'non-replica', consistency: 'all' as const }
              : s,
          ),
          // A replica of c0 other than its coordinator, so the forwarder reaches the coordinator first.
          { atMs: 0, type: 'crash', node: replicasOf('c0', ids(4), 3)[replica]! },
        ]),
      })),
  /**
   * Issue 11 §5: a stand-in's hint counted toward W, so with more nodes than N a write acknowledged
   * by W = N was missing on a replica that answered an R = 1 read (W + R > N): one replica cut off
   * from the other nodes (not from clients), writes at W = all, reads at R = 1.
   */
  'sloppy-quorum': () =>
    fc
      .tuple(
        operations(ids(4), 1000, {
          count: 150,
          registerKinds: ['set', 'get', 'get'],
          reads: fc.constant<Consistency>('one'),
          writes: fc.constant<Consistency>('all'),
        }),
        fc.constantFrom(...ids(4)),
      )
      .map(([ops, cut]) => ({
        scenario: 'sloppy-quorum',
        cluster: { nodes: 4, factor: 3, writeQuorum: 3, readQuorum: 1 },
        durationMs: 2000,
        steps: byTime([
          ...ops.map((s) => ({ ...s, atMs: s.atMs + 1000 })),
          { atMs: 0, type: 'isolate', node: cut },
        ]),
      })),
  /**
   * Issue 11 §2: a restarted node answered R = 1 reads from its empty store while its catch-up ran.
   * Writes at W = all (so W + R > N), a crash, a restart behind slow links (its catch-up takes a
   * while), and reads at R = 1 sent to every node, the restarted one included.
   */
  /**
   * As restart-catch-up, with reads at every consistency and increments too, while the catch-up
   * streams to the restarted node break off midway (half of them, at a random record): a node that
   * pulled part of its data must not answer as if it held it all.
   */
  'cut-catch-up': () =>
    fc
      .tuple(
        operations(ids(3), 3000, {
          count: 150,
          registerKinds: ['set', 'set', 'delete', 'get', 'get', 'get'],
        }),
        fc.constantFrom(...ids(3)),
      )
      .map(([ops, node]) => ({
        scenario: 'cut-catch-up',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 },
        durationMs: 3000,
        steps: byTime([
          ...ops,
          ...restartBehindSlowLinks(node).map((s) => (s.type === 'link' ? { ...s, syncCutRate: 0.5 } : s)),
        ]),
      })),
  'restart-catch-up': () =>
    fc
      .tuple(
        operations(ids(3), 3000, {
          count: 150,
          registerKinds: ['set', 'get', 'get'],
          reads: fc.constant<Consistency>('one'),
          writes: fc.constant<Consistency>('all'),
          counters: false,
        }),
        fc.constantFrom(...ids(3)),
      )
      .map(([ops, node]) => ({
        scenario: 'restart-catch-up',
        cluster: { nodes: 3, factor: 3, writeQuorum: 3, readQuorum: 1 },
        durationMs: 3000,
        steps: byTime([...ops, ...restartBehindSlowLinks(node)]),
      })),
  /**
   * Issue 11 §4: with N=1 a join moves keys, and the new owner answered "not found" for a key it had
   * not received yet (W + R = 2 > N = 1, so the read must see the write).
   */
  'join-moves-keys': () =>
    operations(ids(2), 300, {
      count: 100,
      reads: fc.constant<Consistency>('default'),
      registerKinds: ['set', 'get', 'get', 'get'],
    }).map((ops) => ({
      scenario: 'join-moves-keys',
      cluster: { nodes: 2, factor: 1, writeQuorum: 1, readQuorum: 1 },
      durationMs: 300,
      steps: byTime([
        ...ops,
        // Slow links to the new node: the keys it now owns take a while to arrive.
        { atMs: 0, type: 'link', from: 'n1', to: 'n3', dropRate: 0, extraDelayMs: 30 },
        { atMs: 0, type: 'link', from: 'n2', to: 'n3', dropRate: 0, extraDelayMs: 30 },
        { atMs: 100, type: 'join', node: 'n3', via: 'n1' },
      ]),
    })),
  /**
   * Issue 11 §1: while a node restarts, the others do not see it back yet and forward a key's
   * read-modify-writes to the next replica, while it already coordinates them itself: two
   * coordinators for a moment. Failed at a74daf5 (seed 9 lost an acknowledged increment); fixed by
   * the ballots of replication/ballots.ts.
   */
  'coordinator-failover': () =>
    fc.tuple(operations(ids(3), 3000, { count: 150 }), fc.constantFrom(...ids(3))).map(([ops, node]) => ({
      scenario: 'coordinator-failover',
      cluster: { nodes: 3, factor: 3, writeQuorum: 3, readQuorum: 1 },
      durationMs: 3000,
      steps: byTime([...ops, ...restartBehindSlowLinks(node)]),
    })),
  /**
   * Two coordinators the other way round: a node paused long enough to be declared dead resumes and
   * goes on coordinating the keys it owns before the others see it back (slow links to it), at the
   * default quorums (W=2, R=2 here, so every read must see every acknowledged write).
   */
  'false-suspicion': () =>
    fc
      .tuple(
        operations(ids(3), 3000, { count: 200 }),
        fc.constantFrom(...ids(3)),
        fc.integer({ min: 600, max: 1500 }),
      )
      .map(([ops, node, pauseMs]) => ({
        scenario: 'false-suspicion',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 },
        durationMs: 3000,
        steps: byTime([
          ...ops,
          { atMs: 800, type: 'pause', node },
          ...ids(3)
            .filter((id) => id !== node)
            .map((from): SimStep => ({
              atMs: 800,
              type: 'link',
              from,
              to: node,
              dropRate: 0,
              extraDelayMs: 250,
            })),
          { atMs: 800 + pauseMs, type: 'resume', node },
          { atMs: 2600, type: 'heal' },
        ]),
      })),
  /**
   * Issue 13 §2: a 2 | 3 split of five nodes with writes on both sides, then the heal and no reads.
   * Hints live 200 ms, so once the split outlasts them only anti-entropy can bring the replicas
   * that missed writes up to date: without it (antiEntropyMs 0) replicas stay apart.
   */
  /**
   * Flushes while copies are on their way: every link into one replica holds some messages up to
   * 400 ms longer (so a write's copy can arrive after a flush that started later), sets, deletes and
   * gets of the flushed keys at any consistency throughout, and one or two flushes through any node.
   * Once a flush is acknowledged, no write acknowledged before it began may be read again.
   */
  'flush-in-flight': () =>
    fc
      .tuple(
        fc.array(
          fc.record({
            atMs: fc.integer({ min: 0, max: 3000 }),
            type: fc.constant('op' as const),
            kind: fc.constantFrom<HistoryKind>('set', 'set', 'delete', 'get', 'get', 'get'),
            key: fc.constantFrom(...FLUSHED),
            // 'slow': the replica behind the slow links, where a late copy would be read.
            node: fc.constantFrom('coordinator', 'slow', 'slow', ...ids(3)),
            consistency: fc.constantFrom<Consistency>('default', 'one', 'one', 'quorum', 'all'),
          }),
          { minLength: 60, maxLength: 120 },
        ),
        fc.array(fc.record({ atMs: fc.integer({ min: 200, max: 2500 }), node: fc.constantFrom(...ids(3)) }), {
          minLength: 1,
          maxLength: 2,
        }),
        fc.constantFrom(...ids(3)),
      )
      .map(([ops, flushes, slow]) => ({
        scenario: 'flush-in-flight',
        cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 },
        durationMs: 3000,
        steps: byTime([
          ...ops.map((op) => (op.node === 'slow' ? { ...op, node: slow } : op)),
          ...ids(3)
            .filter((id) => id !== slow)
            .map((from): SimStep => ({
              atMs: 0,
              type: 'link',
              from,
              to: slow,
              dropRate: 0,
              extraDelayMs: 0,
              tailRate: 0.5,
              tailDelayMs: 400,
            })),
          ...flushes.map(({ atMs, node }): SimStep => ({ atMs, type: 'flush', prefix: FLUSH_PREFIX, node })),
        ]),
      })),
  'partition-heal': () =>
    operations(ids(5), 1500, {
      count: 150,
      counters: false,
      writes: fc.constant<Consistency>('default'),
      registerKinds: ['set', 'set', 'delete'],
    }).map((ops) => ({
      scenario: 'partition-heal',
      cluster: { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 1, antiEntropyMs: 1000, hintMaxAgeMs: 200 },
      durationMs: 1500,
      steps: byTime([
        ...ops,
        ...['n1', 'n2'].flatMap((a) =>
          ['n3', 'n4', 'n5'].flatMap((b): SimStep[] => [
            { atMs: 100, type: 'cut', from: a, to: b },
            { atMs: 100, type: 'cut', from: b, to: a },
          ]),
        ),
        { atMs: 1500, type: 'heal' },
      ]),
    })),
  'split-ring-changes': splitRingChanges,
  'split-stale-ring-read': splitStaleRingRead,
  'stale-ring-write': staleRingWrite,
  /**
   * Issue 13 §2: a replica paused past its death and past the hints' age, under writes; the regular
   * anti-entropy interval (60 s) is longer than the quiet after the heal, so only the comparison a
   * node starts when it sees a dead member alive again (AntiEntropy.compareSoon) converges it.
   */
  'short-grace': shortGrace,
  duplicates,
  expiry,
  'clock-jumps': clockJumps,
  leases: () => leases(),
  /**
   * `leases` with every ifAbsent, and each of its retries, coordinated by the node it is sent to, as
   * when two nodes each take themselves for the key's coordinator (a rolling upgrade, two views of
   * who is alive). A round that writes nothing (an ifAbsent that found the key) was remembered by its
   * coordinator alone, and a retry another node coordinated later could store the value its caller
   * had been told was not stored: 3 of 60 seeds, before such outcomes went to the other replicas too.
   */
  'leases-two-coordinators': () => leases('two-coordinators'),
  /**
   * Overlapping faults at W=2, R=2 (nemesis-mix.ts). Seeds 1-2000 broke a promise 9 times before
   * the fixes it found: a restarted or new replica did not know which requests made the records it
   * pulled (an increment counted twice), and a prepare counted former holders' answers as votes (an
   * acknowledged increment overwritten). Its reads at R = 1 at a node cut off from a ring change are
   * the window promise 5 leaves open, which the checker does not judge.
   */
  'nemesis-mix': nemesisMix,
  /**
   * Memory pressure (promise 8). Before a delete went to the other replicas also where its
   * coordinator had evicted the key and could keep no tombstone, 2 of 1,000 seeds acknowledged a
   * delete that no other replica received (a cas then succeeded on the version it had replaced).
   */
  eviction,
  'short-memory': shortMemory,
  'late-retries': lateRetries,
  'paused-past-hints': () =>
    fc
      .tuple(
        operations(ids(3), 3000, { count: 150, counters: false, registerKinds: ['set', 'set', 'delete'] }),
        fc.constantFrom(...ids(3)),
        fc.integer({ min: 1500, max: 2500 }),
      )
      .map(([ops, node, pauseMs]) => ({
        scenario: 'paused-past-hints',
        cluster: {
          nodes: 3,
          factor: 3,
          writeQuorum: 2,
          readQuorum: 1,
          antiEntropyMs: 60_000,
          hintMaxAgeMs: 200,
        },
        durationMs: 3000,
        steps: byTime([
          ...ops,
          { atMs: 200, type: 'pause', node },
          { atMs: 200 + pauseMs, type: 'resume', node },
        ]),
      })),
};

/**
 * Deletes against a grace period the run outlives: the tombstone sweep on (every 100 ms), a grace of
 * 6 s (a node away longer than about half of it drops its data), hints 2 s, clocks within 500 ms. One node is
 * paused, cut off or crashed (and restarted) for 0.2-9 s, shorter or longer than its absence limit,
 * and the hints' age, while sets, deletes and reads at any consistency go on; anti-entropy every
 * 300 ms. The run goes on until every tombstone was purged: a copy the node brings back after that
 * can only be stopped by the rules that keep deletes (docs/architecture.md).
 */
function shortGrace(): fc.Arbitrary<SimSchedule> {
  return fc
    .record({
      // Writes at W >= 2: one acknowledged by a single node lives there alone until replicated, and
      // a node that drops its data after a long absence loses it (promise 1 in the README).
      ops: operations(ids(3), 6000, {
        count: 150,
        counters: false,
        registerKinds: ['set', 'set', 'delete', 'delete', 'get', 'get'],
        writes: fc.constantFrom<Consistency>('default', 'quorum', 'all'),
      }),
      node: fc.constantFrom(...ids(3)),
      fault: fc.constantFrom<'pause' | 'isolate' | 'crash'>('pause', 'isolate', 'crash'),
      atMs: fc.integer({ min: 0, max: 1500 }),
      forMs: fc.integer({ min: 200, max: 9000 }),
    })
    .map(({ ops, node, fault, atMs, forMs }) => {
      const end = atMs + forMs;
      const faults: SimStep[] =
        fault === 'pause'
          ? [
              { atMs, type: 'pause', node },
              { atMs: end, type: 'resume', node },
            ]
          : fault === 'isolate'
            ? [
                { atMs, type: 'isolate', node },
                { atMs: end, type: 'heal' },
              ]
            : [
                { atMs, type: 'crash', node },
                { atMs: end, type: 'restart', node },
              ];
      return {
        scenario: 'short-grace',
        cluster: {
          nodes: 3,
          factor: 3,
          writeQuorum: 2,
          readQuorum: 2,
          antiEntropyMs: 300,
          hintMaxAgeMs: 2000,
          tombstoneGraceMs: 6000,
          maxClockOffsetMs: 500,
          sweepIntervalMs: 100,
        },
        // Past every tombstone's purge: the final reads see only what the rules kept.
        durationMs: 13_000,
        steps: byTime([...ops, ...faults]),
      };
    });
}

/**
 * Issue 13 §3: a 2 | 3 split of five nodes, and ring changes on either side or both while it
 * lasts: a join of n6 (cut off from the other side as well) and a leave. A change ordered on the
 * minority side is refused or left unacknowledged; after the heal every node holds one ring, and it
 * keeps every acknowledged change.
 */
function splitRingChanges(): fc.Arbitrary<SimSchedule> {
  const minority = ['n1', 'n2'];
  const majority = ['n3', 'n4', 'n5'];
  const sideOf = (id: string) => (minority.includes(id) ? minority : majority);
  return fc
    .record({
      ops: operations(ids(5), 2000, {
        count: 120,
        counters: false,
        writes: fc.constant<Consistency>('default'),
      }),
      joinVia: fc.constantFrom(...ids(5)),
      joinAt: fc.integer({ min: 150, max: 1200 }),
      leaver: fc.constantFrom(...ids(5)),
      leaveVia: fc.constantFrom(...ids(5)),
      leaveAt: fc.integer({ min: 150, max: 1200 }),
    })
    .filter(({ leaver, leaveVia }) => leaver !== leaveVia)
    .map(({ ops, joinVia, joinAt, leaver, leaveVia, leaveAt }) => {
      const cuts = (from: string[], to: string[], atMs: number): SimStep[] =>
        from.flatMap((a) =>
          to.flatMap((b): SimStep[] => [
            { atMs, type: 'cut', from: a, to: b },
            { atMs, type: 'cut', from: b, to: a },
          ]),
        );
      const other = sideOf(joinVia) === minority ? majority : minority;
      return {
        scenario: 'split-ring-changes',
        cluster: { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 1, antiEntropyMs: 1000 },
        durationMs: 2000,
        steps: byTime([
          ...ops,
          ...cuts(minority, majority, 100),
          ...cuts(['n6'], other, joinAt),
          { atMs: joinAt, type: 'join', node: 'n6', via: joinVia },
          { atMs: leaveAt, type: 'leave', node: leaver, via: leaveVia },
          { atMs: 1800, type: 'heal' },
        ]),
      };
    });
}

/**
 * Every link delivers some requests twice (the handler runs again on the copy; the first reply
 * answers) and holds some messages up to 300 ms longer, so that messages overtake each other. N=3,
 * W=2, R=2, read-modify-writes coordinated where they land and retried through the others. It found
 * a copy of a request looked up only on arrival (seed 48); the refusal of a duplicated accept hiding
 * that the replica had taken it (739: an increment counted twice; 1112: replicas that never
 * converged); a copy that arrived during the round applying it accepted again at a new version
 * (282); and the completion of a request whose record a newer write had replaced restamping that
 * write's record (725).
 */
function duplicates(): fc.Arbitrary<SimSchedule> {
  return fc
    .tuple(
      operations(ids(3), 800, { count: 100, rmwAnywhere: true }),
      fc.array(
        fc.record({
          copies: fc.integer({ min: 0, max: 2 }),
          retryAfterMs: fc.integer({ min: 0, max: 60 }),
        }),
        { minLength: 100, maxLength: 100 },
      ),
      fc.double({ min: 0.1, max: 0.5, noNaN: true }),
      fc.double({ min: 0.02, max: 0.2, noNaN: true }),
      fc.integer({ min: 10, max: 300 }),
    )
    .map(([ops, retries, duplicateRate, tailRate, tailDelayMs]) => ({
      scenario: 'duplicates',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 },
      durationMs: 800,
      steps: byTime([
        ...ids(3).flatMap((from) =>
          ids(3)
            .filter((to) => to !== from)
            .map((to): SimStep => ({
              atMs: 0,
              type: 'link',
              from,
              to,
              dropRate: 0,
              extraDelayMs: 0,
              duplicateRate,
              tailRate,
              tailDelayMs,
            })),
        ),
        ...ops.map((s, i) =>
          s.type === 'op' && s.kind === 'incr' && s.node !== 'coordinator'
            ? { ...s, ...retries[i]!, forwarded: true }
            : s,
        ),
      ]),
    }));
}

/**
 * Values that expire within the run: sets, cas and touches with a time to live of 100-800 ms (or
 * none), sets with a condition (ifAbsent, ifPresent), deletes, reads and increments at N=3, W=2,
 * R=2, while one node crashes (and restarts, or not) or is paused: expired copies meet read repair,
 * hints, catch-up and anti-entropy. A value is never read past its time to live, never at another
 * version than the one it was written or touched at, and an expired value never lets an older one
 * back (checkers.ts, expiredReads and the others).
 */
function expiry(): fc.Arbitrary<SimSchedule> {
  return fc
    .tuple(
      operations(ids(3), 2500, {
        count: 200,
        expiring: true,
        registerKinds: ['set', 'set', 'set', 'delete', 'get', 'get', 'get', 'cas', 'touch'],
      }),
      fc.constantFrom(...ids(3)),
      fc.constantFrom<'crash' | 'pause'>('crash', 'pause'),
      fc.integer({ min: 0, max: 2000 }),
      fc.option(fc.integer({ min: 100, max: 2000 }), { nil: undefined }),
    )
    .map(([ops, node, fault, atMs, forMs]) => ({
      scenario: 'expiry',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 2500,
      steps: byTime([
        ...ops,
        { atMs, type: fault, node },
        ...(forMs === undefined
          ? []
          : [
              {
                atMs: atMs + forMs,
                type: fault === 'crash' ? ('restart' as const) : ('resume' as const),
                node,
              },
            ]),
      ]),
    }));
}

/**
 * Clocks that jump during the run, within the bound the nodes hold each other to (the default
 * max_clock_offset_ms, 500 ms): one to four times a node's clock steps to 250 ms ahead of or behind
 * the world's, or back, while sets (some with TTLs, some conditional), deletes, reads, cas, touches
 * and increments run at N=3, W=2, R=2. Every clock is set right before the end. Expiries are judged
 * with the largest skew as slack (FinalState.clockSlackMs).
 */
function clockJumps(): fc.Arbitrary<SimSchedule> {
  return fc
    .tuple(
      operations(ids(3), 3000, {
        count: 200,
        expiring: true,
        registerKinds: ['set', 'set', 'delete', 'get', 'get', 'get', 'cas', 'touch'],
      }),
      fc.array(
        fc.record({
          atMs: fc.integer({ min: 0, max: 2900 }),
          node: fc.constantFrom(...ids(3)),
          skewMs: fc.integer({ min: -250, max: 250 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([ops, jumps]) => ({
      scenario: 'clock-jumps',
      cluster: {
        nodes: 3,
        factor: 3,
        writeQuorum: 2,
        readQuorum: 2,
        antiEntropyMs: 1000,
        maxClockOffsetMs: 500,
      },
      durationMs: 3000,
      steps: byTime([
        ...ops,
        ...jumps.map((j): SimStep => ({ ...j, type: 'skew' })),
        ...ids(3).map((node): SimStep => ({ atMs: 2950, type: 'skew', node, skewMs: 0 })),
      ]),
    }));
}

/**
 * getOrSet's lease under one fault: sets ifAbsent with a time to live of 100-800 ms (taking the
 * lease) from any node, forwarded to the key's coordinator, beside plain sets, deletes (giving it
 * back) and reads at N=3, W=2, R=2, while one node crashes (and restarts, or not), pauses or is cut
 * off. Two callers never hold one lease at once (checkers.ts, ifAbsentOnce).
 */
function leases(variant: true | 'two-coordinators' = true): fc.Arbitrary<SimSchedule> {
  return fc
    .tuple(
      operations(ids(3), 3000, {
        count: 200,
        leases: variant,
        rmwAnywhere: true,
        counters: false,
        registerKinds: ['set', 'set', 'set', 'set', 'delete', 'get', 'get'],
      }),
      fc.constantFrom(...ids(3)),
      fc.constantFrom<'crash' | 'pause' | 'isolate'>('crash', 'pause', 'isolate'),
      fc.integer({ min: 0, max: 2500 }),
      fc.option(fc.integer({ min: 100, max: 2000 }), { nil: undefined }),
    )
    .map(([ops, node, fault, atMs, forMs]) => ({
      scenario: variant === true ? 'leases' : 'leases-two-coordinators',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 1000 },
      durationMs: 3000,
      steps: byTime([
        ...ops,
        { atMs, type: fault, node },
        ...(forMs === undefined
          ? []
          : [
              fault === 'crash'
                ? { atMs: atMs + forMs, type: 'restart' as const, node }
                : fault === 'pause'
                  ? { atMs: atMs + forMs, type: 'resume' as const, node }
                  : { atMs: atMs + forMs, type: 'heal' as const },
            ]),
      ]),
    }));
}

/** Scenarios known to fail: each goes here until it is fixed, and CI does not run them. */
export const KNOWN_FAILURE_SCENARIOS: Record<string, Scenario> = {};

/**
 * `ops` with each increment resent as `retries` (by index) says: through `copies` other nodes
 * `retryAfterMs` later, coordinated where it lands when `forwarded` (a call to the key's
 * coordinator is coordinated there anyway).
 */
function resentIncrements(
  ops: readonly SimStep[],
  retries: readonly { copies: number; retryAfterMs: number; forwarded: boolean }[],
): SimStep[] {
  return ops.map((s, i) =>
    s.type === 'op' && s.kind === 'incr'
      ? { ...s, ...retries[i]!, forwarded: retries[i]!.forwarded && s.node !== 'coordinator' }
      : s,
  );
}

/**
 * Retries that come late, after the writes of other coordinators: increments and conditional sets
 * coordinated where they land (two or three coordinators of a counter at once), each resent by its
 * client through one or two other nodes 0-4 s later, at N=3, W=2, R=2, while two to four times
 * 30%, 60% or all of a node's messages to the others are lost for up to 2.5 s, and hints live
 * 200 ms (so a round that missed its quorum often leaves its record, and its requests, on its
 * coordinator alone). Every
 * retry comes within the nodes' memory of requests (two minutes), so each must apply once.
 */
function lateRetries(): fc.Arbitrary<SimSchedule> {
  const silence = fc.record({
    node: fc.constantFrom(...ids(3)),
    atMs: fc.integer({ min: 0, max: 5000 }),
    forMs: fc.integer({ min: 50, max: 2500 }),
    dropRate: fc.constantFrom(0.3, 0.6, 1),
  });
  return fc
    .record({
      ops: operations(ids(3), 6000, {
        count: 120,
        rmwAnywhere: true,
        registerKinds: ['set', 'get', 'get', 'cas', 'delete'],
      }),
      retries: fc.array(
        fc.record({
          copies: fc.integer({ min: 1, max: 2 }),
          retryAfterMs: fc.integer({ min: 0, max: 4000 }),
          forwarded: fc.boolean(),
        }),
        { minLength: 120, maxLength: 120 },
      ),
      silences: fc.array(silence, { minLength: 2, maxLength: 4 }),
    })
    .map(({ ops, retries, silences }) => ({
      scenario: 'late-retries',
      // Anti-entropy (every second) converges the replicas whose hints expired.
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, hintMaxAgeMs: 200, antiEntropyMs: 1000 },
      durationMs: 7000,
      steps: byTime([
        ...resentIncrements(ops, retries),
        ...silences.flatMap(({ node, atMs, forMs, dropRate }): SimStep[] => [
          ...ids(3)
            .filter((to) => to !== node)
            .map((to): SimStep => ({ atMs, type: 'link', from: node, to, dropRate, extraDelayMs: 0 })),
          { atMs: atMs + forMs, type: 'heal' },
        ]),
      ]),
    }));
}

/**
 * What nodes remember of read-modify-writes, expiring within the run: requests for 400 ms (at most
 * 24 per node) and ballot promises for 300 ms, instead of two minutes. Increments, cas and
 * conditional sets at N=3, W=2, R=2 for 3 s, each increment resent by its client through one or two
 * other nodes within 40 ms, coordinated where it lands for a third of them, while one node may
 * pause for 150 ms: every retry comes within the window, so every promise holds while the oldest
 * requests and promises are forgotten all the time.
 */
function shortMemory(): fc.Arbitrary<SimSchedule> {
  return fc
    .record({
      ops: operations(ids(3), 3000, {
        count: 240,
        expiring: true,
        registerKinds: ['set', 'set', 'get', 'get', 'cas', 'cas', 'delete'],
      }),
      retries: fc.array(
        fc.record({
          copies: fc.integer({ min: 1, max: 2 }),
          retryAfterMs: fc.integer({ min: 0, max: 40 }),
          forwarded: fc.constantFrom(false, false, true),
        }),
        { minLength: 240, maxLength: 240 },
      ),
      paused: fc.option(fc.constantFrom(...ids(3)), { nil: undefined }),
      pauseAt: fc.integer({ min: 0, max: 2800 }),
    })
    .map(({ ops, retries, paused, pauseAt }) => ({
      scenario: 'short-memory',
      cluster: {
        nodes: 3,
        factor: 3,
        writeQuorum: 2,
        readQuorum: 2,
        requestWindowMs: 400,
        requestLogEntries: 24,
        promiseWindowMs: 300,
      },
      durationMs: 3000,
      steps: byTime([
        ...resentIncrements(ops, retries),
        ...(paused === undefined
          ? []
          : [
              { atMs: pauseAt, type: 'pause' as const, node: paused },
              { atMs: pauseAt + 150, type: 'resume' as const, node: paused },
            ]),
      ]),
    }));
}

/**
 * Memory pressure: every node holds at most 32 KiB, and two to eight times during the run one node
 * is given 8-40 values of 0.5-2 KiB of other keys (FILLER_PREFIX), so that it evicts least recently
 * used values, the workload's among them, while sets (some with TTLs, some conditional), deletes,
 * reads, cas, touches and increments run at N=3, W=2, R=2, and one node may crash or pause.
 */
function eviction(): fc.Arbitrary<SimSchedule> {
  const fill = fc.record({
    atMs: fc.integer({ min: 0, max: 2500 }),
    type: fc.constant('fill' as const),
    node: fc.constantFrom(...ids(3)),
    count: fc.integer({ min: 8, max: 40 }),
    bytes: fc.integer({ min: 512, max: 2048 }),
  });
  return fc
    .record({
      ops: operations(ids(3), 2500, {
        count: 200,
        expiring: true,
        registerKinds: ['set', 'set', 'set', 'delete', 'get', 'get', 'get', 'cas', 'touch'],
      }),
      fills: fc.array(fill, { minLength: 2, maxLength: 8 }),
      node: fc.constantFrom(...ids(3)),
      fault: fc.constantFrom<'crash' | 'pause' | 'none'>('crash', 'pause', 'none', 'none'),
      atMs: fc.integer({ min: 0, max: 2000 }),
      forMs: fc.integer({ min: 100, max: 2000 }),
    })
    .map(({ ops, fills, node, fault, atMs, forMs }) => ({
      scenario: 'eviction',
      cluster: {
        nodes: 3,
        factor: 3,
        writeQuorum: 2,
        readQuorum: 2,
        antiEntropyMs: 1000,
        maxMemoryBytes: 32 * 1024,
      },
      durationMs: 2500,
      steps: byTime([
        ...ops,
        ...fills,
        ...(fault === 'none'
          ? []
          : [
              { atMs, type: fault, node },
              {
                atMs: atMs + forMs,
                type: fault === 'crash' ? ('restart' as const) : ('resume' as const),
                node,
              },
            ]),
      ]),
    }));
}

export const SCENARIOS: Record<string, Scenario> = {
  ...GREEN_SCENARIOS,
  ...KNOWN_FAILURE_SCENARIOS,
};
